"""The pure parts of serving: specs recognised and validated from botocore's model, records
and their folds, splitting and batching, DataProcessing's JSONPath, health words, limits,
safe model extraction, serving lint."""

from __future__ import annotations

import io
import json
import struct
import tarfile

import pytest

from workbench.engine import events as ev
from workbench.engine.lint import serving_config_findings
from workbench.engine.record import apply_event, is_final, record_end, record_name, record_secondary, record_status
from workbench.engine.serving import data_processing as dp
from workbench.engine.serving.health import listening_words, parse_proc_net
from workbench.engine.serving.invoke import MAX_PAYLOAD_BYTES, check_request
from workbench.engine.serving.model_data import PreparedModel, extract_model
from workbench.engine.serving.records import new_endpoint_record, new_transform_record
from workbench.engine.serving.splitting import RECORDIO_MAGIC, RecordTooLarge, mini_batches, split_records
from workbench.engine.store import record_problem
from workbench.errors import InvocationError, SpecInvalid
from workbench.spec.model import request_model
from workbench.spec.serving import (
    MODEL_OPERATION, TRAINING_OPERATION, TRANSFORM_OPERATION, check_model_spec, check_transform_spec,
    spec_operation,
)

TRANSFORM = {"ModelName": "m", "TransformInput": {"DataSource": {"S3DataSource": {
    "S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}}, "TransformOutput": {"S3OutputPath": "s3://b/out"}}


# --- specs ---------------------------------------------------------------------------------


def test_specs_are_told_apart_by_their_keys():
    assert spec_operation({"AlgorithmSpecification": {}, "TrainingJobName": "x"}) == TRAINING_OPERATION
    assert spec_operation({"PrimaryContainer": {"Image": "i"}}) == MODEL_OPERATION
    assert spec_operation({"ModelName": "m"}) == MODEL_OPERATION
    assert spec_operation(TRANSFORM) == TRANSFORM_OPERATION  # ModelName too, but TransformInput decides


def test_one_model_per_operation_read_from_botocore():
    model, transform = request_model(MODEL_OPERATION), request_model(TRANSFORM_OPERATION)
    assert model.root.name == "CreateModelInput" and transform.root.name == "CreateTransformJobRequest"
    assert request_model(MODEL_OPERATION) is model  # cached per operation
    assert request_model().root.name == "CreateTrainingJobRequest"


def test_a_model_spec_is_walked_like_a_training_spec():
    with pytest.raises(SpecInvalid) as caught:
        check_model_spec({"ModelName": "bad_name!", "PrimaryContainer": {"Imag": "x", "Mode": "Single"},
                          "Workbench": {"Port": 70000, "Nope": 1}})
    text = str(caught.value)
    assert "ModelName: 'bad_name!' does not match the pattern" in text
    assert "PrimaryContainer.Imag: unknown field; did you mean Image?" in text
    assert "PrimaryContainer.Mode: 'Single' is not allowed; did you mean SingleModel?" in text
    assert "Workbench.Port: 70000 is out of range" in text and "Workbench.Nope: unknown Workbench setting" in text
    assert "PrimaryContainer.Image: is required" in text


def test_model_spec_defaults_and_local_paths(tmp_path):
    (tmp_path / "model.tar.gz").write_bytes(b"")
    spec = check_model_spec({"PrimaryContainer": {"Image": "smw/infer:1", "ModelDataUrl": "model.tar.gz",
                                                  "Environment": {"WORKERS": 2}}}, base_dir=tmp_path)
    assert spec.name.startswith("infer-") and spec.model_data == (tmp_path / "model.tar.gz").as_uri()
    assert spec.environment == {"WORKERS": "2"}  # strings, as the API takes them
    with pytest.raises(SpecInvalid, match="does not exist"):
        check_model_spec({"PrimaryContainer": {"Image": "i", "ModelDataUrl": "missing.tar.gz"}}, base_dir=tmp_path)
    with pytest.raises(SpecInvalid, match="SageMaker needs an s3:// URI"):
        check_model_spec({"PrimaryContainer": {"Image": "i", "ModelDataUrl": "model.tar.gz"}}, base_dir=tmp_path,
                         target="sagemaker")


def test_transform_spec_rules_the_api_states_in_words():
    with pytest.raises(SpecInvalid) as caught:
        check_transform_spec({**TRANSFORM, "MaxPayloadInMB": 50, "MaxConcurrentTransforms": 4,
                              "BatchStrategy": "Multi", "DataProcessing": {"JoinSource": "Input"},
                              "TransformInput": {**TRANSFORM["TransformInput"], "ContentType": "text/csv"}})
    text = str(caught.value)
    assert "MaxConcurrentTransforms × MaxPayloadInMB is 200 MB" in text
    assert "BatchStrategy: 'Multi' is not allowed; did you mean MultiRecord?" in text
    assert "DataProcessing with text/csv needs SplitType: Line" in text
    assert "TransformOutput.Accept: DataProcessing needs text/csv" in text
    with pytest.raises(SpecInvalid, match="AugmentedManifestFile is not allowed for batch transform"):
        check_transform_spec({**TRANSFORM, "TransformInput": {"DataSource": {"S3DataSource": {
            "S3DataType": "AugmentedManifestFile", "S3Uri": "s3://b/m"}}}})


def test_transform_spec_defaults_and_overrides():
    spec = check_transform_spec(TRANSFORM, overrides=["MaxConcurrentTransforms=2", "Workbench.Model=job-1"])
    assert spec.name.startswith("m-") and spec.data["TransformResources"] == {"InstanceType": "ml.m5.large",
                                                                            "InstanceCount": 1}
    assert spec.data["MaxConcurrentTransforms"] == 2 and spec.settings.Model == "job-1"
    warned = check_transform_spec({**TRANSFORM, "BatchStrategy": "SingleRecord"})
    assert "needs TransformInput.SplitType" in warned.warnings[0].message


# --- records -----------------------------------------------------------------------------


def endpoint_record(**extra) -> dict:
    return new_endpoint_record("ep-1", "arn:aws:sagemaker:us-east-1:0:endpoint/ep-1",
                               {"ModelName": "m", "Image": "i", "ModelDataUrl": "", "Environment": {}},
                               {"StopGracePeriodSeconds": 30}, 1000.0, **extra)


def test_an_endpoint_record_folds_its_events_as_describe_endpoint():
    record = endpoint_record()
    assert record_name(record) == "ep-1" and record_status(record) == "Creating" and not is_final(record)
    assert record_problem(record, "ep-1") is None
    for event in (ev.StatusChanged("Creating", "Pinging", "", time=1001.0),
                  ev.EndpointReady("AllTraffic", "http://127.0.0.1:5", 5, 0.5, 1.5, time=1002.0),
                  ev.StatusChanged("InService", "Serving", "", time=1002.0),
                  ev.HealthChecked("AllTraffic", False, 503, 1.0, "GET /ping answered 503", time=1010.0)):
        apply_event(record, event)
    assert record["EndpointStatus"] == "InService" and record_secondary(record) == "Serving"
    assert "SecondaryStatus" not in record and "TrainingJobStatus" not in record  # DescribeEndpoint's shape
    assert record["Workbench"]["Url"] == "http://127.0.0.1:5" and record["Workbench"]["Health"]["Status"] == 503
    apply_event(record, ev.JobFinished("OutOfService", "Stopped", time=1020.0))
    assert is_final(record) and record_end(record) == "1970-01-01T00:17:00.000Z"
    assert [t["Status"] for t in record["Workbench"]["StatusTransitions"]] == ["Pinging", "Serving", "Stopped"]
    broken = endpoint_record()
    del broken["EndpointName"]
    assert record_problem(broken, "ep-1") == "has no EndpointName"


def test_a_transform_record_shows_the_values_it_runs_with():
    record = new_transform_record({**TRANSFORM, "TransformJobName": "t-1", "BatchStrategy": "SingleRecord"},
                                  "arn", {}, {}, 1000.0)
    apply_event(record, ev.StatusChanged("InProgress", "Transforming", "", time=1001.0))
    apply_event(record, ev.ExecutionParameters(4, "SingleRecord", 6, {"MaxConcurrentTransforms": 4},
                                               {"MaxConcurrentTransforms": "container"}, time=1001.0))
    apply_event(record, ev.TransformObjectDone("s3://b/in/x", "", 0, 1, 2, 0, 0.1, "answered 400", time=1002.0))
    apply_event(record, ev.JobFinished("Failed", "Failed", "ClientError: 1 of 1", time=1003.0))
    assert record["TransformStartTime"] == "1970-01-01T00:16:41.000Z"
    assert (record["MaxConcurrentTransforms"], record["BatchStrategy"], record["MaxPayloadInMB"]) == (4, "SingleRecord", 6)
    assert record["TransformJobStatus"] == "Failed" and record["FailureReason"] == "ClientError: 1 of 1"
    assert record["Workbench"]["FailedObjects"] == [{"Source": "s3://b/in/x", "Error": "answered 400"}]
    assert record_problem(record, "t-1") is None


# --- splitting and batching -------------------------------------------------------------------


def test_line_records_and_multi_record_batches_under_the_payload_limit():
    records = list(split_records(io.BytesIO(b"1\n22\r\n\n333"), "Line"))
    assert [r.payload for r in records] == [b"1", b"22", b"333"]  # empty lines are no records
    assert [(body, len(batch)) for body, batch in mini_batches(iter(records), "MultiRecord", 7)] == [
        (b"1\n22\n", 2), (b"333\n", 1)]
    assert [body for body, _ in mini_batches(iter(records), "SingleRecord", 7)] == [b"1", b"22", b"333"]
    with pytest.raises(RecordTooLarge, match="a record is 3 B, more than MaxPayloadInMB"):
        list(mini_batches(iter(records), "SingleRecord", 2))
    whole = list(split_records(io.BytesIO(b"a\nb\n"), "None"))
    assert [body for body, _ in mini_batches(iter(whole), "MultiRecord", 100, "None")] == [b"a\nb\n"]


def recordio(payload: bytes, flag: int = 0) -> bytes:
    padding = b"\0" * ((4 - len(payload) % 4) % 4)
    return struct.pack("<II", RECORDIO_MAGIC, (flag << 29) | len(payload)) + payload + padding


def test_recordio_padding_is_removed_only_for_single_record():
    data = recordio(b"abcde") + recordio(b"xy", 1) + recordio(b"z", 3)
    records = list(split_records(io.BytesIO(data), "RecordIO"))
    assert [r.payload for r in records] == [b"abcde", b"xyz"]
    assert records[0].frame == recordio(b"abcde")  # MultiRecord keeps the framing and padding
    assert b"".join(body for body, _ in mini_batches(iter(records), "MultiRecord", 100, "RecordIO")) == data
    with pytest.raises(Exception, match="not RecordIO"):
        list(split_records(io.BytesIO(b"12345678"), "RecordIO"))


def test_tfrecord_frames():
    frame = struct.pack("<Q", 3) + b"CRC1" + b"abc" + b"CRC2"
    records = list(split_records(io.BytesIO(frame * 2), "TFRecord"))
    assert [r.payload for r in records] == [b"abc", b"abc"] and records[0].frame == frame


# --- DataProcessing -------------------------------------------------------------------------


@pytest.mark.parametrize("path, expected", [
    ("$", [0, 1, 2, 3, 4, 5, 6]),
    ("$[1:4]", [1, 2, 3, 4]),  # "the second through fifth columns": inclusive
    ("$[:5]", [0, 1, 2, 3, 4, 5]),
    ("$[2:]", [2, 3, 4, 5, 6]),
    ("$[0,5:]", [0, 5, 6]),
    ("$[-1]", 6),
    ("$[1,3,5]", [1, 3, 5]),
    ("$[*]", [0, 1, 2, 3, 4, 5, 6]),
])
def test_jsonpath_slices_are_inclusive(path, expected):
    assert dp.select(list(range(7)), dp.parse(path), path) == expected


def test_jsonpath_names_and_errors():
    record = {"id": 7, "features": {"a": 1, "b": 2}}
    assert dp.select(record, dp.parse("$.features.a")) == 1
    assert dp.select(record, dp.parse("$['id','features']")) == record
    assert dp.select(record, dp.parse("$.features.*")) == [1, 2]
    with pytest.raises(dp.PathError, match="index 9 is outside the record's 3 elements"):
        dp.select([1, 2, 3], dp.parse("$[9]"), "$[9]")
    with pytest.raises(dp.PathError, match="cannot read"):
        dp.parse("$..a")


def test_csv_and_json_joins():
    assert dp.filter_input(b"id-1,1.5,2", "text/csv", "$[1:]") == b"1.5,2"
    assert dp.join_output(b"1,2,3", b"1", "text/csv", "text/csv", "Input", None) == b"1,2,3,1"
    assert dp.join_output(b'{"key":1}', b'{"label":1}', "application/json", "application/json", "Input",
                          None) == b'{"key":1,"SageMakerOutput":{"label":1}}'
    assert json.loads(dp.join_output(b"[1,2]", b"3", "application/json", "application/json", "Input", None)) == {
        "SageMakerInput": [1, 2], "SageMakerOutput": 3}
    assert dp.join_output(b'{"id":4,"x":1}', b'{"y":2}', "application/jsonlines", "application/jsonlines", "Input",
                          "$['id','SageMakerOutput']") == b'{"id":4,"SageMakerOutput":{"y":2}}'
    assert dp.split_outputs(b"1\n2\n", 2, "text/csv") == [b"1", b"2"]
    assert dp.split_outputs(b"[1, 2]", 2, "application/json") == [b"1", b"2"]
    with pytest.raises(dp.PathError, match="answered 1 lines for a mini-batch of 2 records"):
        dp.split_outputs(b"1\n", 2, "text/csv")


# --- health, limits, lint ----------------------------------------------------------------


PROC_NET = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
"""


def test_why_nothing_answers_from_what_the_container_listens_on():
    listening = parse_proc_net(PROC_NET)
    assert listening == [("127.0.0.1", 8080), ("0.0.0.0", 5000)]
    assert "listens on 127.0.0.1:8080 only" in listening_words(listening)
    assert "listens on 5000" in listening_words([("0.0.0.0", 5000)])
    assert listening_words(None) == "nothing answered on port 8080"


def test_invoke_endpoint_limits():
    check_request(b"x" * MAX_PAYLOAD_BYTES)  # 6 MiB exactly is taken
    with pytest.raises(InvocationError, match="6291457 bytes"):
        check_request(b"x" * (MAX_PAYLOAD_BYTES + 1))
    check_request(b"", "a" * 1024)
    with pytest.raises(InvocationError, match="1025 characters"):
        check_request(b"", "a" * 1025)


def test_serving_lint_of_the_image_config():
    assert [f.rule for f in serving_config_findings({"Entrypoint": ["/bin/sh", "-c", "python serve.py"]})] == [
        "shell-entrypoint"]
    found = serving_config_findings({"Entrypoint": ["/usr/bin/tini", "--"]})
    assert [f.rule for f in found] == ["init-entrypoint"] and "serve" in found[0].message
    assert serving_config_findings({"Entrypoint": ["python3", "/opt/program/serve.py"]}) == []


# --- the model archive ------------------------------------------------------------------------


def test_a_model_archive_never_writes_outside_opt_ml_model(tmp_path):
    """A model.tar.gz from outside: absolute paths, '..', links leading out, devices and FIFOs
    are left out and reported; files, folders and links inside are unpacked."""
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        def add(name: str, data: bytes = b"", **attrs) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for key, value in attrs.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))

        add("./", type=tarfile.DIRTYPE)
        add("./model.json", b'{"a": 1}')
        add("weights/layer.bin", b"w")
        add("/etc/evil", b"x")
        add("../escape.txt", b"x")
        add("link-out", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add("link-up", type=tarfile.SYMTYPE, linkname="../../secret")
        add("hard-out", type=tarfile.LNKTYPE, linkname="/etc/shadow")
        add("link-in", type=tarfile.SYMTYPE, linkname="model.json")
        add("fifo", type=tarfile.FIFOTYPE)
    target = tmp_path / "opt_ml" / "model"
    target.mkdir(parents=True)
    prepared = PreparedModel("model.tar.gz")
    extract_model(archive, target, prepared)
    assert sorted(p.name for p in target.rglob("*")) == ["layer.bin", "link-in", "model.json", "weights"]
    assert (target / "link-in").read_text() == '{"a": 1}'
    assert not (tmp_path / "escape.txt").exists()
    skipped = "\n".join(prepared.skipped)
    for name in ("/etc/evil", "../escape.txt", "link-out", "link-up", "hard-out", "fifo"):
        assert name in skipped, name
    assert prepared.files == 2


def test_a_broken_archive_says_so(tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"not a tar")
    with pytest.raises(Exception, match="is not a readable tar.gz archive"):
        extract_model(archive, tmp_path, PreparedModel(""))
