"""Containers never reach this machine's files: what they leave in /opt/ml is read as they could
have made it (links, FIFOs), the host folders are closed to other users, job names are names."""

import os
import tarfile

import pytest

from workbench.engine import events as ev
from tests.integration.jobs import leftovers, run_spec, shell_job

pytestmark = pytest.mark.docker


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


def test_an_output_folder_swapped_for_a_link_is_named(tmp_path, images, secret):
    ran = run_spec(shell_job(tmp_path, images, f"rm -rf /opt/ml/output && ln -s {secret} /opt/ml/output"), tmp_path)
    assert tar_members(tmp_path / "output" / ran.name / "output" / "output.tar.gz") == {}
    assert any("/opt/ml/output (a symlink" in n for n in notices(ran))


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


def mode_of(path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_mode & 0o7777


@pytest.fixture
def open_home(monkeypatch):
    """A state directory any local user could walk to (pytest's own tmp folders are 0700)."""
    import shutil
    import tempfile
    from pathlib import Path

    home = Path(tempfile.mkdtemp(prefix="smw-modes-"))
    home.chmod(0o755)
    monkeypatch.setenv("SM_WORKBENCH_HOME", str(home))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def as_nobody_can_write(path) -> bool:
    import subprocess

    probe = subprocess.run(["/usr/bin/python3", "-c", f"open({str(path)!r}, 'w').write('planted')"],
                           preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)), capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another local user needs root")
def test_other_local_users_cannot_plant_files_in_a_job(tmp_path, images, open_home):
    """Reproduction: the host /opt/ml trees were mode 0777 under world-readable parents, so
    any local user could put a file into a running job's model/ (and so into its model.tar.gz)."""
    ran = run_spec(shell_job(tmp_path, images, "echo weights > /opt/ml/model/weights"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed"
    opt_ml = ran.paths.opt_ml("algo-1")
    assert not as_nobody_can_write(opt_ml / "model" / "planted")
    assert not (opt_ml / "model" / "planted").exists()
    assert mode_of(ran.paths.root) == (0, 0o700)
    assert mode_of(ran.paths.root / "hosts") == (0, 0o700)
    for folder in ("", "model", "output", "output/data", "code", "input", "input/config", "input/data"):
        assert mode_of(opt_ml / folder) == (0, 0o755), folder  # the image runs as root: nothing wider


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_a_non_root_container_user_writes_its_folders_and_checkpoints(tmp_path, images):
    """The image's `USER trainer` (uid 2345, by name) must still write model/, output/ and its
    checkpoints (restored ones included) once the folders are no longer 0777."""
    store = tmp_path / "ckpt"
    store.mkdir()
    (store / "old.txt").write_text("restored\n")
    spec = shell_job(tmp_path, images, "set -e; id -u > /opt/ml/output/data/uid; echo w > /opt/ml/model/weights; "
                     "mkdir /opt/ml/code/x; echo more >> /opt/ml/checkpoints/old.txt; "
                     "echo new > /opt/ml/checkpoints/new.txt")
    spec["AlgorithmSpecification"]["TrainingImage"] = images["nonroot"]
    spec["CheckpointConfig"] = {"S3Uri": str(store)}
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    folder = tmp_path / "output" / ran.name / "output"
    assert tar_members(folder / "output.tar.gz") == {"uid": b"2345\n"}
    assert tar_members(folder / "model.tar.gz") == {"weights": b"w\n"}
    assert (store / "old.txt").read_text() == "restored\nmore\n" and (store / "new.txt").read_text() == "new\n"
    opt_ml = ran.paths.opt_ml("algo-1")
    for folder in ("", "model", "output", "output/data", "code"):
        assert mode_of(opt_ml / folder) == (2345, 0o755), folder
    for folder in ("input", "input/config", "input/data"):
        assert mode_of(opt_ml / folder) == (0, 0o755), folder
    assert mode_of(ran.paths.host("algo-1") / "checkpoints") == (2345, 0o755)


def test_a_non_root_container_user_reads_its_channels_under_a_private_umask(tmp_path, images):
    """Staged channel files were made with the user's umask: with `umask 077` they were
    0600 (folders 0700) and the image's `USER trainer` could not even read the script it
    was given. Data staged for a container is readable by it whatever the umask."""
    (tmp_path / "data" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "data" / "deep" / "er" / "x.txt").write_text("deep\n")
    spec = shell_job(tmp_path, images, "set -e; cat /opt/ml/input/data/train/deep/er/x.txt > /opt/ml/model/x")
    spec["AlgorithmSpecification"]["TrainingImage"] = images["nonroot"]
    before = os.umask(0o077)
    try:
        ran = run_spec(spec, tmp_path)
    finally:
        os.umask(before)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert tar_members(tmp_path / "output" / ran.name / "output" / "model.tar.gz") == {"x": b"deep\n"}


def test_folder_access_for_each_kind_of_image_user(images, docker_client, monkeypatch):
    from workbench.engine import container_user
    from workbench.engine.container_user import WIDE, FolderAccess, folder_access

    assert folder_access(docker_client, images["shell"]) == FolderAccess()
    monkeypatch.setattr(container_user.os, "geteuid", lambda: 0)
    assert folder_access(docker_client, images["nonroot"]) == FolderAccess(2345, 2345)
    monkeypatch.setattr(container_user.os, "geteuid", lambda: 1000)  # we cannot chown: 0777 inside hosts/ (0700)
    assert folder_access(docker_client, images["nonroot"]) == WIDE
    monkeypatch.setattr(container_user, "_ids_remapped", lambda client: True)  # userns-remap: even root is another id
    assert folder_access(docker_client, images["shell"]) == WIDE
