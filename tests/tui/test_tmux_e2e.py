"""The real `sm-workbench` program in a real terminal (tmux): open a spec, run it with
ctrl+r, watch it complete, filter its log and clear the filter, go back to the jobs
screen, quit. Keys are sent to the pane and the pane's text is read back, as a person
would see it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from workbench.engine import api

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROGRAM = Path(sys.executable).parent / "sm-workbench"


class Pane:
    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=False).stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def alive(self) -> bool:
        return self.session in self.tmux("list-sessions", "-F", "#{session_name}")

    def wait_for(self, *needles: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            if all(n in text for n in needles):
                return text
            time.sleep(0.2)
        raise AssertionError(f"the pane never showed {needles!r}; it shows:\n{text}")


@pytest.fixture
def pane(tmp_path):
    if not shutil.which("tmux"):
        pytest.fail("tmux is needed for the end-to-end test: apt-get install tmux", pytrace=False)
    socket = f"smw-test-{uuid.uuid4().hex[:8]}"
    made = Pane(socket, "workbench")
    yield made
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def test_the_real_program_in_a_terminal(images, pane, tmp_path, state_home):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "poem.txt").write_text("a few words to count\n")
    spec = tmp_path / "hello.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: sm-workbench/shell:latest\n"
                    "HyperParameters:\n  epochs: '2'\n"
                    "InputDataConfig:\n  - ChannelName: train\n    DataSource:\n      S3DataSource:\n"
                    "        S3DataType: S3Prefix\n        S3Uri: data/\n"
                    "Workbench:\n  StopGracePeriodSeconds: 3\n")
    environment = {**os.environ, "SM_WORKBENCH_HOME": str(state_home), "TERM": "xterm-256color"}
    environment.pop("NO_COLOR", None)
    subprocess.run(["tmux", "-L", pane.socket, "new-session", "-d", "-s", pane.session, "-x", "100", "-y", "30",
                    "-c", str(tmp_path), f"{PROGRAM} tui hello.yaml"], env=environment, check=True)
    text = pane.wait_for("composer", "hello.yaml", "valid for local", timeout=60)
    assert "^r Run" in text

    pane.keys("C-r")
    text = pane.wait_for("All hosts", "epoch 2/2", "Completed / Completed", timeout=90)
    assert "algo-1" in text
    jobs = api.list_jobs()
    assert len(jobs) == 1 and jobs[0]["TrainingJobStatus"] == "Completed"
    name = jobs[0]["TrainingJobName"]

    # the tour's steps in a real terminal: a log filter, escape clears it (the monitor
    # stays), the next escape goes back; the footer keeps "? Help" in sight
    assert "? Help" in text
    pane.keys("/")
    pane.wait_for("text to keep")
    pane.keys("-l", "epoch 2")
    pane.keys("Enter")
    text = pane.wait_for("filter “epoch 2”")
    assert "epoch 1/2" not in text
    pane.keys("Escape")  # clears the filter, stays in the monitor
    text = pane.wait_for("epoch 1/2", "All hosts")
    assert "filter “epoch 2”" not in text
    pane.keys("Escape")  # back to the composer
    pane.wait_for("composer")
    pane.keys("Escape")  # back to the jobs screen
    text = pane.wait_for("sm-workbench · 1 job", name[:20], "Completed")
    assert "1 running" not in text

    pane.keys("q")
    deadline = time.monotonic() + 20
    while pane.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pane.alive(), "the program did not exit on q"
