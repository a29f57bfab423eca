"""MetricDefinitions on real containers: every host's stdout and stderr read as SageMaker
reads them, FinalMetricDataList, the end-of-job notices, the stored values replayed as
they came live, `metrics` (its table, --json, --csv, --host, --follow, --definitions and
--regex on the stored output) and `compare`."""

from __future__ import annotations

import csv
import io
import json
import threading

import pytest
import yaml

from tests.integration.jobs import run_spec, shell_job, wait_for
from workbench.cli import main
from workbench.engine import api
from workbench.engine import events as ev
from workbench.spec import check_spec

pytestmark = pytest.mark.docker

# algo-2 prints its last loss a second after everything else: the final value is its.
SCRIPT = r"""
h=$(hostname); n=${h#algo-}
for i in 1 2 3; do
  echo "epoch $i train_loss=$((10 - i)).5 text=abc"
  echo "epoch $i val_acc=0.$i$n" >&2
done
echo "exp=1.5e-3 neg=-42 int=7"
if [ "$n" = 2 ]; then sleep 1; echo "epoch 4 train_loss=0.25"; fi
"""
DEFINITIONS = [
    {"Name": "train:loss", "Regex": r"train_loss=([0-9.]+)"},
    {"Name": "validation:acc", "Regex": r"val_acc=([0-9.]+)"},  # printed on stderr
    {"Name": "exp", "Regex": r"exp=([-+0-9.eE]+)"},
    {"Name": "neg", "Regex": r"neg=(-?\d+)"},
    {"Name": "int", "Regex": r"int=(\d+)"},
    {"Name": "text", "Regex": r"text=(\w+)"},  # matches, never a number
    {"Name": "never", "Regex": r"nothing=(\d+)"},  # matches nothing
    {"Name": "nogroup", "Regex": r"epoch \d+"},  # no group: warned before, noticed after
]


def metrics_spec(tmp_path, images, script: str = SCRIPT, hosts: int = 2, lr: str = "0.1") -> dict:
    spec = shell_job(tmp_path, images, script, ResourceConfig={"InstanceCount": hosts},
                     HyperParameters={"epochs": "3", "lr": lr})
    spec["AlgorithmSpecification"]["MetricDefinitions"] = DEFINITIONS
    return spec


def out_of(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_every_hosts_stdout_and_stderr_is_read_and_replayed_as_it_came(tmp_path, images, capsys):
    ran = run_spec(metrics_spec(tmp_path, images), tmp_path)
    record = ran.record
    assert record["TrainingJobStatus"] == "Completed"

    live = ran.of(ev.MetricSamples)
    by_host: dict[str, list] = {}
    for event in live:
        by_host.setdefault(event.host, []).extend(event.points)
    for host, (i, n) in (("algo-1", (3, 1)), ("algo-2", (4, 2))):
        points = by_host[host]
        assert [v for _, m, v in points if m == "train:loss"] == [9.5, 8.5, 7.5, 0.25][:i]  # stdout
        assert [v for _, m, v in points if m == "validation:acc"] == [float(f"0.{k}{n}") for k in (1, 2, 3)]  # stderr
        assert [v for _, m, v in points if m in ("exp", "neg", "int")] == [0.0015, -42.0, 7.0]

    # FinalMetricDataList: each metric's latest value across hosts, in DescribeTrainingJob's shape.
    final = {m["MetricName"]: m for m in record["FinalMetricDataList"]}
    assert set(final) == {"train:loss", "validation:acc", "exp", "neg", "int"}
    assert final["train:loss"]["Value"] == 0.25
    assert set(final["train:loss"]) == {"MetricName", "Value", "Timestamp"}
    assert final["train:loss"]["Timestamp"] == max(m["Timestamp"] for m in final.values())
    assert final["neg"]["Value"] == -42.0
    assert api.describe_job(ran.name)["FinalMetricDataList"] == record["FinalMetricDataList"]

    notices = [e.message for e in ran.of(ev.Notice) if e.message.startswith("Metric ")]
    assert notices == [
        "Metric 'text': its regex matched 6 lines but never captured a number (e.g. 'abc'); on SageMaker this "
        "metric has no data (no FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as "
        "its objective fails",
        "Metric 'never': its regex matched no line of any host; on SageMaker this metric has no data (no "
        "FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as its objective fails",
        "Metric 'nogroup': its regex has no capture group, so no value was read; on SageMaker this metric has no "
        "data (no FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as its objective fails",
    ]
    assert [n["Message"] for n in record["Workbench"]["Notices"] if n["Message"].startswith("Metric ")] == notices

    # Replayed from the job's folder, exactly as it came live (also through follow_events).
    replayed = list(api.metric_samples(ran.name))
    assert [(e.host, e.points) for e in replayed] == [(e.host, e.points) for e in live]
    followed = [e for e in api.follow_events(ran.name, logs=False) if isinstance(e, ev.MetricSamples)]
    assert [(e.host, e.points) for e in followed] == [(e.host, e.points) for e in live]

    # `metrics`: the table, one host, JSON, every point as CSV.
    table = out_of(capsys, ["metrics", ran.name]).splitlines()
    assert table[0].split() == ["METRIC", "HOST", "LAST", "MIN", "MAX", "COUNT", "LAST", "AT"]
    rows = {(r.split()[0], r.split()[1]): r.split()[2:6] for r in table[1:]}
    assert rows[("train:loss", "algo-2")] == ["0.25", "0.25", "9.5", "4"]
    assert rows[("validation:acc", "algo-1")] == ["0.31", "0.11", "0.31", "3"]
    assert rows[("neg", "algo-1")] == ["-42", "-42", "-42", "1"]
    assert len(rows) == 10
    one = out_of(capsys, ["metrics", ran.name, "--host", "algo-1"]).splitlines()
    assert {r.split()[1] for r in one[1:]} == {"algo-1"} and len(one) == 6
    summaries = json.loads(out_of(capsys, ["metrics", ran.name, "--json"]))
    assert {"Metric": "int", "Host": "algo-2", "Last": 7.0, "Min": 7.0, "Max": 7.0, "Count": 1} == {
        k: v for k, v in next(s for s in summaries if s["Metric"] == "int" and s["Host"] == "algo-2").items()
        if k != "LastTime"}
    points = list(csv.reader(io.StringIO(out_of(capsys, ["metrics", ran.name, "--csv"]))))
    assert points[0] == ["metric", "host", "time", "seconds", "value"]
    assert len(points) - 1 == sum(len(e.points) for e in live) == 19
    assert ["train:loss", "algo-2"] == points[-1][:2] and float(points[-1][4]) == 0.25
    assert 0.5 < float(points[-1][3]) < 30  # seconds since training started

    # Other regexes tried on the stored output, without running again.
    text = out_of(capsys, ["metrics", ran.name, "--regex", r"epoch=epoch (\d+)", "--regex", r"text=text=(\w+)"])
    rows = {(r.split()[0], r.split()[1]): r.split()[2:6] for r in text.splitlines()[1:]}
    assert rows == {("epoch", "algo-1"): ["3", "1", "3", "6"], ("epoch", "algo-2"): ["4", "1", "4", "7"]}
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(yaml.safe_dump({"AlgorithmSpecification": {"MetricDefinitions": [
        {"Name": "text", "Regex": r"text=(\w+)"}, {"Name": "loss", "Regex": r"loss=([0-9.]+)"}]}}))
    again = list(csv.reader(io.StringIO(out_of(capsys, ["metrics", ran.name, "--definitions", str(fixed), "--csv"]))))
    assert [row[0] for row in again[1:]].count("loss") == 7 and "text" not in [row[0] for row in again[1:]]
    assert main(["metrics", ran.name, "--regex", "bad=loss=("]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --regex: MetricDefinitions[0].Regex: does not compile") and "Traceback" not in err
    assert main(["metrics", ran.name, "--regex", "nogroup=epoch"]) == 0
    assert "warning: MetricDefinitions[0].Regex: 'nogroup' has no capture group" in capsys.readouterr().err


def test_follow_a_running_job_then_compare_it_with_a_rerun(tmp_path, images, capsys):
    first = run_spec(metrics_spec(tmp_path, images, hosts=1), tmp_path)
    slow = SCRIPT.replace("for i in 1 2 3; do", "for i in 1 2 3; do sleep 0.5;")
    spec = check_spec(metrics_spec(tmp_path, images, slow, hosts=1, lr="0.01"), source="test.yaml", base_dir=tmp_path)
    job = api.launch(spec, detach=True)
    wait_for(lambda: api.describe_job(job.name).get("SecondaryStatus") == "Training", what="training")

    got: dict = {}
    follower = threading.Thread(target=lambda: got.setdefault("code", main(["metrics", job.name, "--follow",
                                                                           "--csv"])))
    follower.start()
    follower.join(timeout=120)
    assert got.get("code") == 0, "metrics --follow ended with the job"
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert sorted(row[0] for row in rows[1:]) == sorted(["train:loss", "validation:acc"] * 3 + ["exp", "neg", "int"])
    assert [float(row[4]) for row in rows[1:] if row[0] == "train:loss"] == [9.5, 8.5, 7.5]
    assert api.describe_job(job.name)["TrainingJobStatus"] == "Completed"

    comparison = json.loads(out_of(capsys, ["compare", first.name, job.name, "--json"]))
    assert comparison["DifferingHyperParameters"] == ["lr"]
    assert comparison["HyperParameters"]["lr"] == {first.name: "0.1", job.name: "0.01"}
    assert comparison["FinalMetrics"]["train:loss"] == {first.name: 7.5, job.name: 7.5}
    text = out_of(capsys, ["compare", first.name, job.name]).splitlines()
    assert text[0].split() == [first.name, job.name]
    assert next(line for line in text if " lr " in f" {line} ").split() == ["*", "lr", "0.1", "0.01"]
    assert next(line for line in text if "epochs" in line).split() == ["epochs", "3", "3"]
    assert next(line for line in text if "neg" in line).split() == ["neg", "-42", "-42"]
    assert text[-1] == "* differs: lr"
    assert main(["compare", first.name]) == 2
