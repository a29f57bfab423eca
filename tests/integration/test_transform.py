"""Batch transform jobs on the real engine: records split and batched as the developer
guide says, /execution-parameters, one `.out` per input object, DataProcessing, S3."""

from __future__ import annotations

import gzip
import json

import pytest
import yaml

from tests.integration.jobs import unique, wait_for
from tests.integration.serving import INFERENCE, serving_leftovers, train_sample
from tests.integration.test_serving import cli, model_file
from workbench.engine import api
from workbench.engine import events as ev
from workbench.spec.serving import check_transform_spec

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def inputs(tmp_path, files: dict[str, str]):
    folder = tmp_path / "input"
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def transform_spec(tmp_path, folder, **extra) -> dict:
    spec = {
        "TransformJobName": unique("batch"),
        "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(folder) + "/"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": str(tmp_path / "predictions"), "AssembleWith": "Line"},
        "Workbench": {"StopGracePeriodSeconds": 3},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def run_transform(tmp_path, spec: dict, model: str | None = None, image: str | None = INFERENCE):
    seen: list[ev.Event] = []
    checked = check_transform_spec(spec, source=str(tmp_path / "transform.yaml"), base_dir=tmp_path)
    job = api.transform(checked, model=model or str(model_file(tmp_path)), image=image, subscribers=[seen.append])
    return job.run(), seen


def outputs(tmp_path) -> dict[str, str]:
    root = tmp_path / "predictions"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_transform_of_several_files_line_split_multi_record(tmp_path, images, docker_client):
    """The model a sample job trained (ModelName names the job), Line splitting and
    MultiRecord batching: every file in one request, one `.out` per file, in input order."""
    trained = train_sample(tmp_path)
    folder = inputs(tmp_path, {"a.csv": "1\n2\n3\n", "b.csv": "10\n\n20", "more/c.csv": "5\n"})
    spec = transform_spec(tmp_path, "input", ModelName=trained["TrainingJobName"], BatchStrategy="MultiRecord",
                          MaxConcurrentTransforms=2, TransformOutput={"S3OutputPath": "predictions/"})
    spec["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = "input/"
    (tmp_path / "transform.yaml").write_text(yaml.safe_dump(spec))
    assert cli("validate", str(tmp_path / "transform.yaml")).returncode == 0
    ran = cli("transform", str(tmp_path / "transform.yaml"))
    assert ran.returncode == 0, ran.stderr.decode()
    assert b"Status:     Completed" in ran.stderr and b"3 of 3 objects, 6 records in 3 requests" in ran.stderr

    record = api.describe_job(spec["TransformJobName"])
    for member in ("TransformJobName", "TransformJobArn", "TransformJobStatus", "ModelName", "TransformInput",
                   "TransformResources", "CreationTime", "TransformStartTime", "TransformEndTime"):
        assert member in record, member
    assert record["TransformJobStatus"] == "Completed" and record["Workbench"]["Kind"] == "transform"
    assert (record["MaxConcurrentTransforms"], record["BatchStrategy"], record["MaxPayloadInMB"]) == (2, "MultiRecord", 6)
    assert record["Workbench"]["ExecutionParameters"]["Sources"]["MaxPayloadInMB"] == "default"
    fitted = api.serving_model(trained["TrainingJobName"])
    assert fitted.image == INFERENCE
    a, b = _fitted(trained)
    got = outputs(tmp_path)
    assert sorted(got) == ["a.csv.out", "b.csv.out", "more/c.csv.out"]
    assert [float(v) for v in got["a.csv.out"].split()] == pytest.approx([a * x + b for x in (1, 2, 3)], abs=1e-5)
    assert [float(v) for v in got["b.csv.out"].split()] == pytest.approx([a * x + b for x in (10, 20)], abs=1e-5)
    log = "\n".join(text for _, _, text in api.read_logs(spec["TransformJobName"]))
    assert "batch=true strategy=MULTI_RECORD" in log  # SAGEMAKER_BATCH, SAGEMAKER_BATCH_STRATEGY as set
    assert "invocations: 3 records" in log and "invocations: 2 records" in log
    assert serving_leftovers(docker_client, spec["TransformJobName"]) == []


def _fitted(trained: dict) -> tuple[float, float]:
    import tarfile

    with tarfile.open(trained["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("file://")) as tar:
        model = json.load(tar.extractfile("model.json"))
    return model["a"], model["b"]


def test_single_record_sends_one_record_per_request(tmp_path, images):
    folder = inputs(tmp_path, {"a.csv": "1\n2\n3\n", "b.csv": "4\n"})
    record, seen = run_transform(tmp_path, transform_spec(tmp_path, folder, BatchStrategy="SingleRecord"))
    assert record["TransformJobStatus"] == "Completed", record.get("FailureReason")
    assert record["Workbench"]["Progress"]["Requests"] == 4 and record["Workbench"]["Progress"]["Records"] == 4
    assert outputs(tmp_path) == {"a.csv.out": "3.0\n5.0\n7.0\n", "b.csv.out": "9.0\n"}
    assert [e.records for e in seen if isinstance(e, ev.TransformObjectDone)] == [3, 1]


def test_execution_parameters_of_the_container_unless_the_request_sets_them(tmp_path, images):
    folder = inputs(tmp_path, {"a.csv": "1\n2\n"})
    offered = {"MaxConcurrentTransforms": 3, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 2}
    record, _ = run_transform(tmp_path, transform_spec(tmp_path, folder, Environment={
        "INFER_EXECUTION_PARAMETERS": json.dumps(offered)}))
    assert (record["MaxConcurrentTransforms"], record["BatchStrategy"], record["MaxPayloadInMB"]) == (3, "SingleRecord", 2)
    assert record["Workbench"]["ExecutionParameters"]["Sources"] == {
        "MaxConcurrentTransforms": "container", "BatchStrategy": "container", "MaxPayloadInMB": "container"}
    assert record["Workbench"]["Progress"]["Requests"] == 2

    (tmp_path / "predictions").rename(tmp_path / "first")
    record, _ = run_transform(tmp_path, transform_spec(tmp_path, folder, BatchStrategy="MultiRecord", Environment={
        "INFER_EXECUTION_PARAMETERS": json.dumps(offered)}))
    assert (record["MaxConcurrentTransforms"], record["BatchStrategy"]) == (3, "MultiRecord")  # the request wins
    assert record["Workbench"]["Progress"]["Requests"] == 1


def test_data_processing_csv_join_with_inclusive_slices(tmp_path, images):
    """InputFilter $[1:] (columns 1 to the end, inclusive) sends x; the join appends y to the
    whole input row; OutputFilter $[0,2] keeps id and y."""
    folder = inputs(tmp_path, {"rows.csv": "a,1\nb,2\nc,3\n"})
    record, _ = run_transform(tmp_path, transform_spec(
        tmp_path, folder, BatchStrategy="MultiRecord", TransformOutput={"Accept": "text/csv"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,2]"}))
    assert record["TransformJobStatus"] == "Completed", record.get("FailureReason")
    assert outputs(tmp_path) == {"rows.csv.out": "a,3.0\nb,5.0\nc,7.0\n"}


def test_s3_gzip_json_lines_join_and_filter(tmp_path, images, s3, bucket):
    lines = "".join(json.dumps({"id": i, "x": i, "note": "n"}) + "\n" for i in (1, 2))
    s3.put_object(Bucket=bucket, Key="in/day=1/part.jsonl.gz", Body=gzip.compress(lines.encode()))
    s3.put_object(Bucket=bucket, Key="in/day=2/part.jsonl.gz", Body=gzip.compress(b'{"id": 9, "x": 0}\n'))
    spec = transform_spec(tmp_path, "unused", BatchStrategy="MultiRecord",
                          TransformOutput={"S3OutputPath": f"s3://{bucket}/out", "Accept": "application/jsonlines"},
                          DataProcessing={"InputFilter": "$['id','x']", "JoinSource": "Input",
                                          "OutputFilter": "$['id','SageMakerOutput']"})
    spec["TransformInput"] = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/in/"}},
                              "ContentType": "application/jsonlines", "SplitType": "Line", "CompressionType": "Gzip"}
    record, _ = run_transform(tmp_path, spec)
    assert record["TransformJobStatus"] == "Completed", record.get("FailureReason")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"])
    assert keys == ["out/day=1/part.jsonl.gz.out", "out/day=2/part.jsonl.gz.out"]
    text = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    assert [json.loads(line) for line in text.splitlines()] == [
        {"id": 1, "SageMakerOutput": {"y": 3.0}}, {"id": 2, "SageMakerOutput": {"y": 5.0}}]


def test_manifest_input_and_a_failing_object(tmp_path, images, docker_client):
    """An object the container refuses (400) fails the job; the others' outputs are there,
    the failed one's is not (no partial objects)."""
    folder = inputs(tmp_path, {"good.csv": "1\n", "bad.csv": "1\nnot a number\n", "other.csv": "2\n"})
    manifest = tmp_path / "input.manifest"
    manifest.write_text(json.dumps([{"prefix": str(folder) + "/"}, "good.csv", "bad.csv", "other.csv"]))
    spec = transform_spec(tmp_path, folder)
    spec["TransformInput"]["DataSource"]["S3DataSource"] = {"S3DataType": "ManifestFile", "S3Uri": str(manifest)}
    record, seen = run_transform(tmp_path, spec)
    assert record["TransformJobStatus"] == "Failed"
    assert "1 of 3 input objects failed" in record["FailureReason"] and "bad.csv" in record["FailureReason"]
    assert "answered 400" in record["FailureReason"]
    assert outputs(tmp_path) == {"good.csv.out": "3.0\n", "other.csv.out": "5.0\n"}
    assert record["Workbench"]["FailedObjects"][0]["Source"].endswith("bad.csv")
    assert serving_leftovers(docker_client, spec["TransformJobName"]) == []


def test_a_record_larger_than_max_payload(tmp_path, images):
    folder = inputs(tmp_path, {"big.csv": "1" * (1024 * 1024 + 1) + "\n", "small.csv": "1\n"})
    record, _ = run_transform(tmp_path, transform_spec(tmp_path, folder, MaxPayloadInMB=1))
    assert record["TransformJobStatus"] == "Failed"
    assert "more than MaxPayloadInMB" in record["FailureReason"]
    assert outputs(tmp_path) == {"small.csv.out": "3.0\n"}


def test_transform_with_no_input_objects(tmp_path, images):
    folder = tmp_path / "empty"
    folder.mkdir()
    record, _ = run_transform(tmp_path, transform_spec(tmp_path, folder))
    assert record["TransformJobStatus"] == "Failed" and "no input objects" in record["FailureReason"]


def test_stop_a_detached_transform(tmp_path, images, docker_client):
    """`sm-workbench stop` ends a transform job run by a worker: Stopped, nothing left."""
    folder = inputs(tmp_path, {f"f{i:03d}.csv": "1\n" for i in range(200)})
    checked = check_transform_spec(transform_spec(tmp_path, folder, BatchStrategy="SingleRecord"),
                                   base_dir=tmp_path)
    job = api.transform(checked, model=str(model_file(tmp_path)), image=INFERENCE, detach=True)
    wait_for(lambda: (api.describe_job(job.name)["Workbench"].get("Progress") or {}).get("ObjectsDone", 0) > 0,
             timeout=120, what="some objects done")
    record = api.stop_job(job.name, timeout=60)
    assert record["TransformJobStatus"] == "Stopped"
    assert record["Workbench"]["Progress"]["ObjectsDone"] < 200
    assert serving_leftovers(docker_client, job.name) == []
