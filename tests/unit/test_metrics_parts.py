"""Metrics without containers: how a regex reads a value (SageMaker's rules and the ones the
workbench chose where the docs are silent), the shortcut that must never change a result,
the record's FinalMetricDataList, the end-of-job notices, the bounded series, compare."""

from __future__ import annotations

import json
import random
import re

import pytest

from workbench.engine import events as ev
from workbench.engine.extension import JobContext
from workbench.engine.metrics.compare import compare
from workbench.engine.metrics.extension import Metrics
from workbench.engine.metrics.extract import Extractor, number, shortcut
from workbench.engine.metrics.reading import check_definitions, last_run, preview, reextract
from workbench.engine.metrics.series import MAX_POINTS, MetricSeries, thinned
from workbench.engine.record import apply_event, new_record
from workbench.errors import SpecInvalid, WorkbenchError
from workbench.spec import validate
from workbench.spec.metrics import compile_definitions


def extract(regex: str, *lines: str, name: str = "m") -> list[float]:
    extractor = Extractor(compile_definitions([{"Name": name, "Regex": regex}]))
    return [value for _, _, value in extractor.extract([(float(i), text) for i, text in enumerate(lines)])]


# --- how a value is read ----------------------------------------------------------------


def test_the_value_is_the_first_group_read_as_a_number():
    assert extract(r"loss=([0-9.]+)", "epoch 1 loss=0.53 acc=0.9") == [0.53]
    assert extract(r"(loss|acc)=([0-9.]+)", "loss=0.5") == []  # group 1 is "loss": not a number
    assert extract(r"loss=(?:x)?([0-9.]+)", "loss=2") == [2.0]  # non-capturing groups do not count


@pytest.mark.parametrize("text, value", [
    ("7", 7.0), ("-42", -42.0), ("+3", 3.0), ("0.25", 0.25), (".5", 0.5), ("5.", 5.0),
    ("1.5e-3", 0.0015), ("2E+2", 200.0), ("-6.02e23", -6.02e23), (" 8 ", 8.0),
])
def test_numbers_read(text, value):
    assert number(text) == value
    assert extract(r"v=(.*?);", f"v={text};") == [value]


@pytest.mark.parametrize("text", ["abc", "", "nan", "NaN", "inf", "-Infinity", "1_000", "0x1A", "1,5", "1.2.3"])
def test_captures_that_are_not_numbers_give_no_value(text):
    assert number(text) is None
    assert extract(r"v=(.*?);", f"v={text};") == []


def test_a_regex_without_a_group_gives_no_value_and_is_not_used():
    definitions = compile_definitions([{"Name": "epoch", "Regex": r"epoch \d+"}])
    assert not definitions[0].usable and not Extractor(definitions)
    assert extract(r"epoch \d+", "epoch 3") == []


def test_one_value_per_line_and_definition_the_first_match():
    assert extract(r"loss=([0-9.]+)", "loss=0.9 then loss=0.1", "loss=0.5") == [0.9, 0.5]


def test_a_group_that_did_not_take_part_gives_no_value():
    assert extract(r"loss=(\d+)?x", "loss=x") == []


def test_values_come_in_line_order_then_in_the_definitions_order():
    extractor = Extractor(compile_definitions([{"Name": "b", "Regex": r"b=(\d)"}, {"Name": "a", "Regex": r"a=(\d)"}]))
    points = extractor.extract([(1.0, "a=1 b=2"), (2.0, "b=3"), (3.0, "a=4")])
    assert points == [(1.0, "b", 2.0), (1.0, "a", 1.0), (2.0, "b", 3.0), (3.0, "a", 4.0)]


def test_rejected_captures_are_counted_with_an_example():
    extractor = Extractor(compile_definitions([{"Name": "t", "Regex": r"t=(\w+)"}]))
    extractor.extract([(1.0, "t=abc"), (2.0, "t=def"), (3.0, "t=5")])
    assert (extractor.rejected["t"].count, extractor.rejected["t"].example) == (2, "abc")


# --- the shortcut never changes a result -------------------------------------------------


@pytest.mark.parametrize("regex, literal, prefixed", [
    (r"loss=([0-9.]+)", "loss=", True),
    (r"Train_error=(.*?);", "Train_error=", True),
    (r"^epoch (\d+)", "epoch ", False),  # the anchor: tried on the line, not where the literal is
    (r"(?i)loss=(\d+)", None, False),
    (r"(?:val|train)_loss=(\S+)", "_loss=", False),
    (r"(loss)=(\d)", "loss=", True),
    (r"(?<=\s)loss=(\d)", "loss=", False),  # a lookbehind sees before the literal
    (r"([0-9.]+)", None, False),
    (r"ab(\d)", "ab", False),  # too short to be tried in place
])
def test_shortcut(regex, literal, prefixed):
    found = shortcut(re.compile(regex))
    assert (found.literal, found.prefixed) == (literal, prefixed)


REGEXES = [
    r"loss=([-+0-9.eE]+)", r"train:loss=([0-9.]+)", r"train:accuracy=([0-9.]+)", r"train:lo(\d)",
    r"^epoch (\d+)", r"(\d+)$", r"(?i)LOSS=(\d+)", r"(?:val|train)_loss=(\S+)", r"(?<=\s)acc=([0-9.]+)",
    r"acc=([0-9.]+)(?!\d)", r"lr: *([0-9.e-]+)", r"\bstep (\d+)", r"(loss)=(\d)", r"([0-9.]+)",
    r"aaa(\d)", r"aaab(\d)", r"x\ny=(\d)", r"(?s)tail=(.*)", r"é=(\d)", r"loss=(\d)\s", r"acc=(?<=\sacc=)(\d)",
]
ALPHABET = ["loss=", "train:", "accuracy=", "lo", "epoch ", "val_", "train_", "acc=", "lr: ", "step ", "aaa",
            "b", "é=", "tail=", " ", "\t", "x", "LOSS=", "-", ".", "e", "1", "23", "0.5", "7", ";"]


def reference(definitions: list[dict], lines: list[tuple[float, str]]) -> list[tuple[float, str, float]]:
    """Every line searched with every regex: the semantics the shortcut must keep."""
    out = []
    for moment, text in lines:
        for definition in compile_definitions(definitions):
            if not definition.usable:
                continue
            match = definition.pattern.search(text)
            if match is not None and (value := number(match.group(1))) is not None:
                out.append((moment, definition.name, value))
    return out


def test_the_shortcut_finds_exactly_what_searching_every_line_finds():
    rng = random.Random(14)
    definitions = [{"Name": f"m{i}", "Regex": regex} for i, regex in enumerate(REGEXES)]
    extractor = Extractor(compile_definitions(definitions))
    for _ in range(300):
        lines = [(float(i), "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12))))
                 for i in range(rng.randint(1, 30))]
        assert extractor.extract(lines) == reference(definitions, lines)


# --- checks before a run ------------------------------------------------------------------


def spec_with(*definitions: dict) -> dict:
    return {"AlgorithmSpecification": {"TrainingImage": "x", "TrainingInputMode": "File",
                                       "MetricDefinitions": list(definitions)}}


def test_validate_refuses_a_regex_that_does_not_compile_and_warns_about_the_rest():
    problems = [p for p in validate(spec_with({"Name": "a", "Regex": "loss=(["}, {"Name": "b", "Regex": "epoch"},
                                              {"Name": "b", "Regex": r"b=(\d)"}))
                if "MetricDefinitions" in p.path]
    assert [(p.path, p.severity) for p in problems] == [
        ("AlgorithmSpecification.MetricDefinitions[0].Regex", "error"),
        ("AlgorithmSpecification.MetricDefinitions[1].Regex", "warning"),
        ("AlgorithmSpecification.MetricDefinitions[2].Name", "warning"),
    ]
    assert "does not compile as a regular expression: unterminated character set at position 6" in problems[0].message
    assert "has no capture group" in problems[1].message
    assert "is also defined at MetricDefinitions[1]" in problems[2].message
    assert all("\n" not in p.format() for p in problems)


def test_check_definitions_given_on_the_command_line():
    with pytest.raises(SpecInvalid) as err:
        check_definitions([{"Name": "a", "Regex": "("}], "--regex")
    assert "--regex: MetricDefinitions[0].Regex: does not compile" in str(err.value)
    warnings = check_definitions([{"Name": "a", "Regex": "a"}], "--regex")
    assert [w.path for w in warnings] == ["MetricDefinitions[0].Regex"]
    with pytest.raises(WorkbenchError):
        check_definitions([], "x.yaml")


# --- the record -----------------------------------------------------------------------


def test_final_metric_data_list_holds_the_latest_value_across_hosts():
    record = new_record({"TrainingJobName": "j"}, "arn", 100.0)
    apply_event(record, ev.MetricSamples("algo-1", ((101.0, "loss", 0.9), (103.0, "loss", 0.5), (103.0, "acc", 1.0))))
    apply_event(record, ev.MetricSamples("algo-2", ((102.0, "loss", 0.7), (102.5, "acc", 2.0))))
    apply_event(record, ev.MetricSample("lr", "", 0.1, time=104.0))
    assert record["FinalMetricDataList"] == [
        {"MetricName": "loss", "Value": 0.5, "Timestamp": "1970-01-01T00:01:43.000Z"},  # algo-1's is later
        {"MetricName": "acc", "Value": 1.0, "Timestamp": "1970-01-01T00:01:43.000Z"},
        {"MetricName": "lr", "Value": 0.1, "Timestamp": "1970-01-01T00:01:44.000Z"},
    ]
    apply_event(record, ev.MetricSamples("algo-2", ((103.0, "loss", 0.4),)))  # a tie: the one folded last
    assert record["FinalMetricDataList"][0]["Value"] == 0.4


def test_metric_samples_are_stored_compactly_and_read_back():
    event = ev.MetricSamples("algo-1", ((1.5, "train:loss", -0.25), (2.0, "acc", 1e-9)), time=2.0)
    stored = json.loads(json.dumps(event.to_dict()))
    assert stored == {"type": "MetricSamples", "time": 2.0, "host": "algo-1",
                      "points": [[1.5, "train:loss", -0.25], [2.0, "acc", 1e-9]]}
    assert ev.event_from_dict(stored) == event
    assert event.samples[0] == ev.MetricSample("train:loss", "algo-1", -0.25, time=1.5)


# --- the end-of-job notices -------------------------------------------------------------


def test_definitions_that_never_gave_a_value_are_each_a_notice(tmp_path):
    spec = spec_with({"Name": "loss", "Regex": r"loss=([0-9.]+)"}, {"Name": "text", "Regex": r"t=(\w+)"},
                     {"Name": "never", "Regex": r"nothing=(\d)"}, {"Name": "nogroup", "Regex": r"epoch"},
                     {"Name": "loss", "Regex": r"L=(\d)"})
    emitted: list = []
    from workbench.engine.store import JobPaths

    ctx = JobContext("j", spec, None, JobPaths(tmp_path), None, emitted.append)  # type: ignore[arg-type]
    metrics = Metrics(spec)
    metrics.started(ctx)
    metrics.log_lines(ctx, ev.LogLines("algo-1", ((1.0, "loss=0.5 t=abc"), (2.0, "epoch 2"))))
    metrics.close(ctx)
    (samples,) = [e for e in emitted if isinstance(e, ev.MetricSamples)]
    assert samples.points == ((1.0, "loss", 0.5),)
    notices = [e.message for e in emitted if isinstance(e, ev.Notice)]
    assert notices == [
        "Metric 'text': its regex matched 1 line but never captured a number (e.g. 'abc'); on SageMaker this "
        "metric has no data (no FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as "
        "its objective fails",
        "Metric 'never': its regex matched no line of any host; on SageMaker this metric has no data (no "
        "FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as its objective fails",
        "Metric 'nogroup': its regex has no capture group, so no value was read; on SageMaker this metric has no "
        "data (no FinalMetricDataList entry, no CloudWatch series), and a tuning job with it as its objective fails",
    ]
    assert all(e.level == "warning" for e in emitted if isinstance(e, ev.Notice))


def test_no_notice_when_no_container_ran(tmp_path):
    emitted: list = []
    spec = spec_with({"Name": "never", "Regex": r"nothing=(\d)"})
    Metrics(spec).close(JobContext("j", spec, None, None, None, emitted.append))  # type: ignore[arg-type]
    assert emitted == []


# --- series, re-reading, previews, comparing ----------------------------------------------


def test_series_are_exact_and_bounded():
    series = MetricSeries()
    for i in range(3 * MAX_POINTS):
        series.add("loss", "algo-1", float(i), 1000.0 if i == 17 else float(i % 7))
    track = series.track("loss", "algo-1")
    assert (track.count, track.low, track.high, track.last, track.last_time) == (
        3 * MAX_POINTS, 0.0, 1000.0, float((3 * MAX_POINTS - 1) % 7), 3 * MAX_POINTS - 1.0)
    assert len(track.times) <= MAX_POINTS and 1000.0 in track.values  # the spike survives thinning
    assert track.times == sorted(track.times)


def test_thinned_keeps_each_runs_lowest_and_highest():
    times = [float(i) for i in range(100)]
    values = [0.0] * 100
    values[42], values[77] = 9.0, -9.0
    out_times, out_values = thinned(times, values, 20)
    assert len(out_times) <= 20 and 9.0 in out_values and -9.0 in out_values and out_times == sorted(out_times)


def test_reextract_reads_lines_as_the_engine_would():
    lines = [(1.0, "algo-1", "loss=1"), (1.5, "algo-2", "loss=2"), (2.0, "algo-1", "nothing")]
    events = list(reextract(lines, [{"Name": "loss", "Regex": r"loss=(\d)"}]))
    assert [(e.host, e.points) for e in events] == [("algo-1", ((1.0, "loss", 1.0),)),
                                                     ("algo-2", ((1.5, "loss", 2.0),))]


def test_preview_says_what_each_regex_finds():
    lines = [(1.0, "algo-1", "loss=1 t=x"), (2.0, "algo-1", "loss=oops"), (3.0, "algo-2", "t=y")]
    found = preview(lines, [{"Name": "loss", "Regex": r"loss=(\w+)"}, {"Name": "bad", "Regex": "("},
                            {"Name": "nogroup", "Regex": "t="}])
    assert (found[0].lines, found[0].values) == (2, 1)
    assert found[0].examples == [("algo-1", "loss=1 t=x", 1.0), ("algo-1", "loss=oops", None)]
    assert found[1].problem.startswith("does not compile")
    assert (found[2].problem, found[2].lines, found[2].values) == ("has no capture group: no value is read", 2, 0)


def test_last_run_is_the_same_name_else_the_same_program():
    records = [{"TrainingJobName": "new", "AlgorithmSpecification": {"TrainingImage": "other"}},
               {"TrainingJobName": "old", "AlgorithmSpecification": {"TrainingImage": "img",
                                                                     "ContainerEntrypoint": ["python3", "t.py"]}}]
    spec = {"AlgorithmSpecification": {"TrainingImage": "img", "ContainerEntrypoint": ["python3", "t.py"]}}
    assert last_run(records, spec) == "old"
    assert last_run(records, {**spec, "TrainingJobName": "new"}) == "new"
    assert last_run(records, {"AlgorithmSpecification": {"TrainingImage": "none"}}) is None


def test_compare_flags_the_differing_hyperparameters():
    a = {"TrainingJobName": "a", "TrainingJobStatus": "Completed", "HyperParameters": {"lr": "0.1", "epochs": "3"},
         "FinalMetricDataList": [{"MetricName": "loss", "Value": 0.5, "Timestamp": "x"}]}
    b = {"TrainingJobName": "b", "TrainingJobStatus": "Failed", "HyperParameters": {"lr": "0.01", "epochs": "3",
                                                                                   "seed": "1"}}
    comparison = compare([a, b])
    assert [(r.name, r.values, r.differs) for r in comparison.hyperparameters] == [
        ("epochs", ("3", "3"), False), ("lr", ("0.1", "0.01"), True), ("seed", (None, "1"), True)]
    assert [(r.name, r.values) for r in comparison.metrics] == [("loss", (0.5, None))]
    assert comparison.to_dict()["DifferingHyperParameters"] == ["lr", "seed"]


# --- the command line, before anything runs ------------------------------------------------

BAD_REGEX = """\
TrainingJobName: bad-regex
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
  MetricDefinitions:
    - {Name: "train:loss", Regex: "loss=([0-9.]+"}
    - {Name: "epoch", Regex: "epoch \\\\d+"}
ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 1}
"""


def test_validate_and_run_refuse_a_regex_that_does_not_compile_in_one_line_each(tmp_path, capsys):
    from workbench.cli import main

    spec = tmp_path / "job.yaml"
    spec.write_text(BAD_REGEX)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert f"{spec}: AlgorithmSpecification.MetricDefinitions[0].Regex: does not compile as a regular expression: " \
           "missing ), unterminated subpattern at position 5" in err
    assert any(line.startswith(f"{spec}: warning: AlgorithmSpecification.MetricDefinitions[1].Regex: 'epoch' has "
                               "no capture group") for line in err)
    assert main(["validate", str(spec), "--target", "sagemaker", "--set",
                 "AlgorithmSpecification.MetricDefinitions[0].Regex=loss=([0-9.]+)"]) == 2  # other problems only
    assert "MetricDefinitions[0]" not in capsys.readouterr().err
    assert main(["run", str(spec)]) == 2  # refused before any container
    assert "MetricDefinitions[0].Regex: does not compile" in capsys.readouterr().err


def test_the_monitors_pump_folds_metric_values_apart_from_its_bounded_events():
    from workbench.tui.pump import EventPump

    pump = EventPump(max_events=10)
    pump.feed(ev.JobCreated("j", "arn", ("algo-1",)))
    for i in range(1000):
        pump.feed(ev.MetricSamples("algo-1", ((float(i), "loss", 1.0 / (i + 1)),), time=float(i)))
    batch = pump.drain()
    assert batch.metrics and [type(e).__name__ for e in batch.events] == ["JobCreated"]  # nothing pushed out
    view = pump.metric_view("loss", 40)
    assert view.metrics == ["loss"] and view.samples == 1000
    (summary,) = view.summaries
    assert (summary.count, summary.last, summary.high) == (1000, 0.001, 1.0)
    times, values = view.curves["algo-1"]
    assert len(times) <= 40 and 1.0 in values
    assert pump.drain() is None  # nothing new since
