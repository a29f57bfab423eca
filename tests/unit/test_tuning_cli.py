"""The tuning commands' front, without Docker: the table of training jobs (its rows, the
live redraw on a terminal, the lines elsewhere), the commands in --help, and `validate`
of a tuning spec."""

from __future__ import annotations

import io

import pytest

from tests.unit.test_tuning_spec import folded, trial_events, tuning
from workbench.cli import main
from workbench.cli.tuning_commands import TrialsView, trial_rows
from workbench.engine import events as ev


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_help_lists_tune(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "tune" in capsys.readouterr().out


def test_the_rows_mark_the_best_and_say_why_a_job_has_no_objective():
    record = folded(*trial_events("tj-001-a", 1, "Completed", 0.5),
                    *trial_events("tj-002-b", 2, "Failed", None, "AlgorithmError: x is too big\nmore"),
                    *trial_events("tj-003-c", 3, "Stopped", 0.75),
                    ev.TrialEarlyStopped("tj-003-c", "Auto", 2, 0.3, 0.6, "behind", time=1010.0))
    header, *rows = trial_rows(record)
    assert header == ("", "TRAINING JOB", "STATUS", "x", "objective", "EARLY STOP", "NOTE")
    assert rows[0] == ("", "tj-001-a", "Completed", "0.1", "0.5", "", "")
    assert rows[1] == ("", "tj-002-b", "Failed", "0.2", "-", "", "AlgorithmError: x is too big")
    assert rows[2] == ("*", "tj-003-c", "Stopped", "0.3", "0.75", "Auto at epoch 2", "")


def test_on_a_terminal_the_table_is_redrawn_in_place_and_fits_it(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "8")
    screen = Terminal()
    view = TrialsView(screen)
    events = [ev.StatusChanged("InProgress", "Starting", "")]
    view.update(folded(*events))
    first = screen.getvalue()
    assert first.startswith("tj: InProgress") and "\x1b[" not in first
    for index in range(1, 10):
        events += trial_events(f"tj-{index:03d}-{index:08x}", index, "Completed", index / 10)
    screen.seek(0), screen.truncate()
    view.update(folded(*events))
    redrawn = screen.getvalue()
    assert redrawn.startswith(f"\x1b[{len(first.splitlines())}F\x1b[J")
    lines = redrawn.split("\x1b[J", 1)[1].splitlines()
    assert len(lines) <= 6 and all(len(line) < 60 for line in lines)
    assert "earlier training jobs" in lines[2] and lines[-1].startswith("*  tj-009-")
    screen.seek(0), screen.truncate()
    view.update(folded(*events))
    assert screen.getvalue() == ""  # nothing changed: nothing drawn
    # A notice goes above the table, which is drawn again below it (the count of lines holds).
    drawn = view.drawn
    view.update(folded(*events, ev.Notice("warning", "the tuner was taken over")))
    assert screen.getvalue().startswith(f"\x1b[{drawn}F\x1b[J")
    assert view.drawn == drawn and screen.getvalue().count("\x1b[J") == 1


def test_elsewhere_one_line_per_change_then_the_table():
    out = io.StringIO()
    view = TrialsView(out)
    proposed = [ev.TrialProposed("tj-001-a", 1, {"x": "0.123456789"}, time=1.0)]
    view.update(folded(*proposed))
    running = proposed + [ev.TrialUpdated("tj-001-a", "InProgress", "Training", objective=0.2, values=1, time=2.0)]
    view.update(folded(*running))
    view.update(folded(*running, ev.TrialUpdated("tj-001-a", "InProgress", "Training", objective=0.3, values=2)))
    done = folded(*running, ev.TrialUpdated("tj-001-a", "Completed", "Completed", objective=0.4,
                                            objective_status="Succeeded", values=3))
    view.update(done)
    view.finish(done)
    lines = out.getvalue().splitlines()
    assert lines[0] == "tj-001-a  InProgress  x=0.123457  objective=-"
    assert lines[1] == "tj-001-a  Completed  x=0.123457  objective=0.4"  # not a line per running value
    assert lines[3].split() == ["TRAINING", "JOB", "STATUS", "x", "objective", "EARLY", "STOP", "NOTE"]


def test_validate_recognises_a_tuning_spec(tmp_path, capsys):
    import yaml

    path = tmp_path / "tuning.yaml"
    path.write_text(yaml.safe_dump(tuning()))
    assert main(["validate", str(path), "--target", "sagemaker"]) == 0
    assert "valid for sagemaker" in capsys.readouterr().out
    bad = tuning(Strategy="Grid")
    path.write_text(yaml.safe_dump(bad))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("categorical ranges only" in line for line in err)
