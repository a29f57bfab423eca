"""The Docker engine, the offline images and the S3 endpoint the other tests stand on."""

import subprocess

from tests.conftest import REPO


def test_ensure_docker_does_nothing_when_an_engine_answers(docker_client):
    result = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_sample_images_exist_and_run(docker_client, images):
    shell = docker_client.containers.run(images["shell"], ["sh", "-c", "command -v train"], remove=True)
    assert shell.decode().strip() == "/usr/local/bin/train"
    python = docker_client.containers.run(images["python"], ["python3", "-c", "print(6*7)"], remove=True)
    assert python.decode().strip() == "42"


def test_building_again_skips_present_images(images):
    from workbench.images import SAMPLE_IMAGES, build_all

    lines: list[str] = []
    assert build_all([SAMPLE_IMAGES], log=lines.append) == []
    assert all(line.endswith("present, skipped") for line in lines)


def test_s3_endpoint_is_local(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hi")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hi"
    assert s3.meta.endpoint_url.startswith("http://127.0.0.1:")


def test_doctor_reports_each_area(docker_client, images, s3_server, capsys):
    from workbench.cli import main

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for area in ("Docker engine", "Sample images", "S3 credentials", "S3 endpoint", "GPUs", "State directory"):
        assert f"] {area}:" in out
    assert "no GPU" in out
