"""ManifestFile (File and Pipe mode) and AugmentedManifestFile (Pipe) on the real engine,
and manifest entries or references that try to leave where they belong."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.channels import channel, decode_recordio, dumped, reader_spec
from tests.integration.jobs import run_spec

pytestmark = pytest.mark.docker


def staged(ran, name, host="algo-1"):
    root = ran.paths.opt_ml(host) / "input" / "data" / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_manifest_file_in_file_and_pipe_mode(tmp_path, images, s3, bucket):
    objects = {"mf/a.txt": b"alpha\n", "mf/sub/b.bin": os.urandom(50_000), "mf/c.txt": b"not listed\n"}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    manifest = [{"prefix": f"s3://{bucket}/mf/"}, "sub/b.bin", "a.txt"]
    s3.put_object(Bucket=bucket, Key="manifests/train.json", Body=json.dumps(manifest).encode())
    uri = f"s3://{bucket}/manifests/train.json"
    spec = reader_spec(tmp_path, [channel("files", uri, "ManifestFile"),
                                  channel("stream", uri, "ManifestFile", mode="Pipe")],
                       mode="File", pipes="stream", epochs=2, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert staged(ran, "files") == {"a.txt": b"alpha\n", "sub/b.bin": objects["mf/sub/b.bin"]}
    for epoch in (0, 1):  # the manifest's order, not the keys' order
        assert dumped(ran, "stream", epoch) == objects["mf/sub/b.bin"] + b"alpha\n"


def test_a_local_manifest_with_a_local_prefix(tmp_path, images):
    data = tmp_path / "images"
    (data / "cats").mkdir(parents=True)
    (data / "cats" / "1.jpg").write_bytes(b"cat one")
    (data / "dog.jpg").write_bytes(b"a dog")
    manifest = tmp_path / "train.manifest"
    manifest.write_text(json.dumps([{"prefix": "images/"}, "cats/1.jpg", "dog.jpg"]))
    spec = reader_spec(tmp_path, [channel("train", str(manifest), "ManifestFile")], mode="File")
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert staged(ran, "train") == {"cats/1.jpg": b"cat one", "dog.jpg": b"a dog"}


@pytest.mark.parametrize("entry", ["../secret.txt", "/etc/passwd", "ok/../../up.txt"])
def test_manifest_entries_escaping_their_prefix_are_refused(tmp_path, images, s3, bucket, entry):
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"secret")
    manifest = [{"prefix": f"s3://{bucket}/public/"}, entry]
    s3.put_object(Bucket=bucket, Key="m.json", Body=json.dumps(manifest).encode())
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/m.json", "ManifestFile")], mode="File")
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "escapes its prefix" in ran.record["FailureReason"]
    assert not staged(ran, "train")


def test_a_local_manifest_entry_leading_out_through_a_symlink_is_refused(tmp_path, images):
    (tmp_path / "outside.txt").write_text("private")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "link").symlink_to(tmp_path)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"prefix": "data/"}, "link/outside.txt"]))
    spec = reader_spec(tmp_path, [channel("train", str(manifest), "ManifestFile")], mode="File")
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "leads out of its prefix" in ran.record["FailureReason"]


def test_augmented_manifest_sends_each_attribute(tmp_path, images, s3, bucket):
    images_ = {"img/1.jpg": os.urandom(3000), "img/2.jpg": os.urandom(5)}
    for key, body in images_.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    lines = [
        {"source-ref": f"s3://{bucket}/img/1.jpg", "ignored": "x", "label": 1},
        {"label": "cat", "source-ref": f"s3://{bucket}/img/2.jpg"},
        {"source-ref": f"s3://{bucket}/img/1.jpg", "label": {"class": [1, 2]}},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    s3.put_object(Bucket=bucket, Key="aug/train.jsonl", Body=body.encode())
    uri = f"s3://{bucket}/aug/train.jsonl"
    names = ["source-ref", "label"]
    spec = reader_spec(tmp_path, [
        channel("records", uri, "AugmentedManifestFile", AttributeNames=names, RecordWrapperType="RecordIO"),
        channel("raw", uri, "AugmentedManifestFile", AttributeNames=names),
    ], pipes="records,raw", epochs=2, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    expected = [images_["img/1.jpg"], b"1", images_["img/2.jpg"], b"cat", images_["img/1.jpg"], b'{"class":[1,2]}']
    for epoch in (0, 1):
        assert decode_recordio(dumped(ran, "records", epoch)) == expected
        assert dumped(ran, "raw", epoch) == b"".join(expected)
    assert ran.record["Workbench"]["Channels"]["records"]["Hosts"]["algo-1"]["Files"] == 3  # lines


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "/etc/passwd", "https://example.com/x"])
def test_an_s3_augmented_manifest_may_only_reference_s3(tmp_path, images, s3, bucket, ref):
    s3.put_object(Bucket=bucket, Key="aug/bad.jsonl", Body=json.dumps({"source-ref": ref}).encode())
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/aug/bad.jsonl", "AugmentedManifestFile",
                                          AttributeNames=["source-ref"])], pipes="train", epochs=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "may only reference S3 objects" in ran.record["FailureReason"]
