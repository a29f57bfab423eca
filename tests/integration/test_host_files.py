"""Containers never reach this machine's files: what they leave in /opt/ml is read as they could
have made it (links, FIFOs), the host folders are closed to other users, job names are names."""

import os
import tarfile

import pytest

from workbench.engine import events as ev
from tests.integration.jobs import leftovers, probe_spec, run_spec

pytestmark = pytest.mark.docker


def shell_job(tmp_path, images, script: str, **extra) -> dict:
    """A job running `script` with busybox sh (delivered in its train channel: no length limit)."""
    spec = probe_spec(tmp_path, image=images["shell"], **extra)
    (tmp_path / "data" / "script.sh").write_text(script + "\n")
    spec["AlgorithmSpecification"]["ContainerEntrypoint"] = ["sh", "/opt/ml/input/data/train/script.sh"]
    return spec


@pytest.fixture
def secret(tmp_path):
    """A file of this machine's that no job may ever ship (a stand-in for /etc/shadow)."""
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "shadow").write_text("root:HOST-SECRET:19000::::::\n")
    return folder


def tar_members(path) -> dict[str, bytes | None]:
    with tarfile.open(path) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def notices(ran, level: str = "warning") -> list[str]:
    return [n.message for n in ran.of(ev.Notice) if n.level == level]


def test_a_model_folder_swapped_for_a_link_to_a_host_folder_is_not_packed(tmp_path, images, secret, docker_client):
    """Reproduction: `rm -rf /opt/ml/model && ln -s /etc /opt/ml/model` in the container put
    this machine's /etc (with /etc/shadow) into model.tar.gz; /opt/ml/output/data likewise."""
    ran = run_spec(shell_job(tmp_path, images,
                             f"rm -rf /opt/ml/model /opt/ml/output/data && ln -s {secret} /opt/ml/model "
                             f"&& ln -s {secret} /opt/ml/output/data"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed"
    folder = tmp_path / "output" / ran.name / "output"
    assert tar_members(folder / "model.tar.gz") == {}
    assert tar_members(folder / "output.tar.gz") == {}
    warned = " ".join(notices(ran))
    assert "/opt/ml/model (a symlink" in warned and "/opt/ml/output/data (a symlink" in warned
    assert leftovers(docker_client, ran.name) == []


SCRIPT = (
    "cd /opt/ml/model && echo weights > weights && mkdir sub && echo deep > sub/deep "
    "&& ln -s weights latest && ln -s /opt/ml/model/sub/deep absolute && ln -s ../weights sub/up "
    "&& ln -s {secret}/shadow leak && ln -s ../../../../../../../../..{secret}/shadow dots "
    "&& ln -s /opt/ml/input/config/hyperparameters.json elsewhere && ln -s sub folder && ln -s missing dangling "
    "&& mkfifo fifo"
)
PACKED = {"weights": b"weights\n", "sub/deep": b"deep\n", "latest": b"weights\n", "absolute": b"deep\n",
          "sub/up": b"weights\n"}


def test_links_in_the_model_are_packed_only_when_they_lead_to_a_file_inside_it(tmp_path, images, secret):
    """Reproduction: `ln -s /etc/shadow /opt/ml/model/leak` put this machine's file into the
    archive as a link member; a link inside the folder became a link member too."""
    ran = run_spec(shell_job(tmp_path, images, SCRIPT.format(secret=secret)), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    model = tmp_path / "output" / ran.name / "output" / "model.tar.gz"
    assert tar_members(model) == PACKED  # regular files only: safe to extract anywhere
    with tarfile.open(model) as tar:
        assert all(m.isfile() and m.uid == 0 and m.uname == "" for m in tar.getmembers())
    warned = [n for n in ran.of(ev.Notice) if n.level == "warning" and "Not packed" in n.message]
    assert len(warned) == 1 and warned[0].host == "algo-1"
    for path in ("leak", "dots", "elsewhere"):
        assert f"/opt/ml/model/{path} (a symlink leading out of /opt/ml/model)" in warned[0].message
    for path in ("folder", "dangling"):
        assert f"/opt/ml/model/{path} (a symlink to no file" in warned[0].message
    assert ran.record["Workbench"]["Upload"]["Files"] == len(PACKED)


def test_uncompressed_outputs_never_copy_a_host_file(tmp_path, images, secret):
    """Reproduction: with `CompressionType: NONE`, `ln -s /etc/shadow /opt/ml/model/leak` copied
    this machine's file to <S3OutputPath>/<job>/output/model/leak."""
    spec = shell_job(tmp_path, images, SCRIPT.format(secret=secret))
    spec["OutputDataConfig"]["CompressionType"] = "NONE"
    ran = run_spec(spec, tmp_path)
    model = tmp_path / "output" / ran.name / "output" / "model"
    found = {str(p.relative_to(model)): p.read_bytes() for p in model.rglob("*") if p.is_file()}
    assert found == PACKED
    assert not any(p.is_symlink() for p in model.rglob("*"))


def test_uncompressed_outputs_to_s3_skip_links_out(tmp_path, images, secret, s3, bucket):
    spec = shell_job(tmp_path, images, SCRIPT.format(secret=secret))
    spec["OutputDataConfig"] = {"S3OutputPath": f"s3://{bucket}/out", "CompressionType": "NONE"}
    ran = run_spec(spec, tmp_path)
    prefix = f"out/{ran.name}/output/model/"
    found = {o["Key"][len(prefix):]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
             for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert found == PACKED


def test_a_failure_file_linked_to_a_host_file_is_not_read(tmp_path, images, secret):
    """Reproduction: `ln -s /etc/shadow /opt/ml/output/failure; exit 1` made this machine's
    /etc/shadow the job's FailureReason."""
    ran = run_spec(shell_job(tmp_path, images, f"ln -s {secret}/shadow /opt/ml/output/failure; exit 1"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "HOST-SECRET" not in ran.record["FailureReason"]
    assert ran.record["FailureReason"].startswith("AlgorithmError: algo-1 exited with exit code 1")
    assert any("/opt/ml/output/failure was not read" in n for n in notices(ran))


@pytest.mark.timeout(120)
def test_a_failure_fifo_does_not_hang_the_job(tmp_path, images, docker_client):
    """Reproduction: `mkfifo /opt/ml/output/failure; exit 2` left `sm-workbench run` blocked
    forever opening the FIFO."""
    ran = run_spec(shell_job(tmp_path, images, "mkfifo /opt/ml/output/failure; exit 2"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("AlgorithmError: algo-1 exited with exit code 2")
    assert leftovers(docker_client, ran.name) == []


def test_a_long_failure_file_is_read_only_up_to_its_limit(tmp_path):
    from workbench.engine.outputs import failure_reason

    opt_ml = tmp_path / "opt_ml"
    (opt_ml / "output").mkdir(parents=True)
    (opt_ml / "output" / "failure").write_text("é" * 5000)
    assert failure_reason(opt_ml) == "é" * 1024
    os.unlink(opt_ml / "output" / "failure")
    os.mkfifo(opt_ml / "output" / "failure")
    warned = []
    assert failure_reason(opt_ml, warned.append) is None and warned
