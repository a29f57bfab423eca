"""The Docker engine, the offline images and the S3 endpoint the other tests stand on."""

import shutil
import subprocess
import uuid

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


def test_an_image_whose_recipe_changed_is_built_again(docker_client, tmp_path):
    from docker.errors import ImageNotFound

    from workbench.images import SAMPLE_IMAGES, Recipe, _busybox_tar, build, image_state

    folder = tmp_path / "shell"
    shutil.copytree(SAMPLE_IMAGES / "shell", folder)
    name = f"smw-test/recipe-{uuid.uuid4().hex[:8]}:latest"
    (folder / "image.yaml").write_text((folder / "image.yaml").read_text().replace("sm-workbench/shell:latest", name))
    unlabelled = f"smw-test/unlabelled-{uuid.uuid4().hex[:8]}:latest"
    lines: list[str] = []
    try:
        assert image_state(Recipe.load(folder), docker_client) == "missing"
        assert build(Recipe.load(folder), docker_client, log=lines.append)
        assert not build(Recipe.load(folder), docker_client, log=lines.append)  # unchanged: skipped
        (folder / "rootfs" / "usr" / "local" / "bin" / "train").write_text("#!/bin/sh\necho changed\n")
        assert image_state(Recipe.load(folder), docker_client) == "outdated"
        assert build(Recipe.load(folder), docker_client, log=lines.append)
        assert "its recipe changed since it was built; building (busybox)" in lines[-2]
        assert docker_client.containers.run(name, ["train"], remove=True).decode() == "changed\n"
        assert image_state(Recipe.load(folder), docker_client) == "present"
        # An image built elsewhere (from the Dockerfile, with a registry) has no fingerprint: left alone.
        repository = unlabelled.split(":")[0]
        docker_client.api.import_image_from_data(_busybox_tar(Recipe.load(folder)), repository=repository, tag="latest")
        (folder / "image.yaml").write_text((folder / "image.yaml").read_text().replace(name, f"{repository}:latest"))
        assert image_state(Recipe.load(folder), docker_client) == "present"
        assert not build(Recipe.load(folder), docker_client, log=lines.append)
    finally:
        for image in (name, unlabelled):
            try:
                docker_client.images.remove(image, force=True)
            except ImageNotFound:
                pass


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
