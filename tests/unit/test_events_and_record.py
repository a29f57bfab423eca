"""Events survive a JSON round trip; the record folds them as DescribeTrainingJob shows them."""

import json

from workbench.engine import events as ev
from workbench.engine.logs import parse_docker_timestamp
from workbench.engine.record import apply_event, epoch, new_record
from workbench.engine.store import parse_log_line


def test_every_event_round_trips_through_json():
    samples = [
        ev.JobCreated("j", "arn", ("algo-1",), "job.yaml", time=1.0),
        ev.StatusChanged("InProgress", "Training", "msg", time=2.0),
        ev.LogLines("algo-1", ((3.0, "hello"), (3.5, "world")), time=3.5),
        ev.HostExited("algo-1", 137, "SIGKILL", False, time=4.0),
        ev.JobFinished("Stopped", "MaxRuntimeExceeded", "", "file:///m", time=5.0),
    ]
    for event in samples:
        assert ev.event_from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert ev.event_from_dict({"type": "FromTheFuture"}) is None


def test_bus_keeps_going_when_a_subscriber_breaks():
    bus = ev.EventBus()
    seen = []
    bus.subscribe(lambda e: 1 / 0)
    bus.subscribe(seen.append)
    bus.emit(ev.Notice("info", "x"))
    assert len(seen) == 1 and bus.errors


def test_record_follows_the_lifecycle():
    record = new_record({"TrainingJobName": "j", "HyperParameters": {"a": "1"}}, "arn", 100.0)
    for event in (
        ev.StatusChanged("InProgress", "Downloading", "d", time=101.0),
        ev.StatusChanged("InProgress", "Training", "t", time=102.0),
        ev.HostStarted("algo-1", "c" * 64, "homogeneousCluster", "ml.m5.large", time=102.5),
        ev.HostExited("algo-1", 0, time=110.0),
        ev.OutputsUploaded("s3://b/m.tar.gz", "s3://b/o.tar.gz", 2, 10, 0.1, time=111.0),
        ev.JobFinished("Completed", "Completed", "", "s3://b/m.tar.gz", time=112.0),
    ):
        apply_event(record, event)
    assert record["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in record["SecondaryStatusTransitions"]] == ["Downloading", "Training", "Completed"]
    assert record["TrainingTimeInSeconds"] == 10
    assert epoch(record["TrainingStartTime"]) == 102.0
    assert record["ModelArtifacts"] == {"S3ModelArtifacts": "s3://b/m.tar.gz"}
    assert record["Workbench"]["Hosts"]["algo-1"]["ExitCode"] == 0
    assert record["HyperParameters"] == {"a": "1"}


def test_timestamps():
    assert parse_docker_timestamp("1970-01-01T00:00:01.500000000Z") == 1.5
    assert parse_log_line("1970-01-01T00:00:02.250000Z some text here") == (2.25, "some text here")


def test_instances_read_the_same_for_one_type_and_for_groups():
    """Tour: a job with instance groups read "train:ml.c5.2xlargex2" in the jobs table,
    the monitor and `sm-workbench jobs`, where a single-type job reads "2 × ml.c5.2xlarge"."""
    from workbench.engine.record import instances, instances_line

    single = {"ResourceConfig": {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 2}}
    groups = {"ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": "train", "InstanceType": "ml.c5.2xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "ps", "InstanceType": "ml.m5.large", "InstanceCount": 1}]}}
    assert instances(single) == ("2", "ml.c5.2xlarge") and instances_line(single) == "2 × ml.c5.2xlarge"
    assert instances(groups) == ("3", "train: 2 × ml.c5.2xlarge, ps: 1 × ml.m5.large")
    assert instances_line(groups) == "train: 2 × ml.c5.2xlarge, ps: 1 × ml.m5.large"
    one_group = {"ResourceConfig": {"InstanceGroups": groups["ResourceConfig"]["InstanceGroups"][:1]}}
    assert instances_line(one_group) == "train: 2 × ml.c5.2xlarge"
