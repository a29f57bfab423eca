"""Themes, the remembered config, and how `sm-workbench tui` decides what to open."""

import subprocess
import sys

import pytest

from workbench.errors import WorkbenchError
from workbench.cli.tui_command import resolve_target
from workbench.tui.config import TuiConfig
from workbench.tui.themes import load_themes, themes_dir


def test_the_repository_themes_load():
    themes, problems = load_themes()
    names = {t.name for t in themes}
    assert {"workbench-dark", "workbench-light", "workbench-contrast"} <= names and not problems
    assert {t.dark for t in themes} == {True, False}  # a dark and a light one at least
    assert themes_dir().name == "themes"
    dark = next(t for t in themes if t.name == "workbench-dark")
    assert dark.dark and dark.primary.startswith("#")


def test_a_broken_theme_file_is_reported_not_fatal(tmp_path):
    (tmp_path / "good.yaml").write_text("name: good\nprimary: '#112233'\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nprimary: '#112233'\ncolour: red\n")
    (tmp_path / "broken.yaml").write_text("name: [\n")
    themes, problems = load_themes(tmp_path)
    assert [t.name for t in themes] == ["good"]
    assert len(problems) == 2 and any("colour" in p for p in problems)


def test_config_round_trip(state_home):
    assert TuiConfig.load() == TuiConfig()
    TuiConfig(theme="workbench-light", keymap={"log.follow": "F"}).save()
    assert TuiConfig.load() == TuiConfig("workbench-light", {"log.follow": "F"})
    TuiConfig.path().write_text("- not a mapping\n")
    assert TuiConfig.load() == TuiConfig()


def test_tui_target_is_a_spec_a_new_spec_or_a_job(tmp_path, monkeypatch):
    from tests.tui.fake_jobs import make_job

    spec = tmp_path / "job.yaml"
    spec.write_text("{}\n")
    make_job("some-job")
    monkeypatch.chdir(tmp_path)
    assert resolve_target(None) == {}
    assert resolve_target("job.yaml") == {"spec": spec.relative_to(tmp_path)}
    assert resolve_target("new.yaml") == {"spec": tmp_path.joinpath("new.yaml").relative_to(tmp_path)}
    assert resolve_target("some-job") == {"job": "some-job"}
    with pytest.raises(WorkbenchError, match="neither a spec file nor a job"):
        resolve_target("nothing-here")
    with pytest.raises(WorkbenchError, match="is a folder"):
        resolve_target(str(tmp_path))


def test_commands_other_than_tui_do_not_import_textual():
    code = ("import sys; from workbench.cli import build_parser; build_parser(); "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_workbench_starts_without_the_help_screens_markdown():
    """The help screen's Markdown (markdown_it, pygments) was a tenth of the workbench's
    import time, paid on every start for a screen only ? opens."""
    code = "import sys; import workbench.tui.app; print('markdown_it' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_tui_errors_are_one_line_not_tracebacks(capsys):
    from workbench.cli import main

    assert main(["tui", "no-such-job-or-file"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no-such-job-or-file is neither") and "Traceback" not in err
