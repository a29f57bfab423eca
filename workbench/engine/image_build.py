"""Building an image with the Docker engine's builder, its output streamed as it comes.

One build path for everything sm-workbench builds from a Dockerfile: a spec's
`Workbench.Build` (before its job trains, or `sm-workbench build`) and the offline image
recipes of `workbench.images`. It uses the Docker SDK's low-level `api.build(decode=True)`,
which yields the builder's messages as they arrive (the high-level `images.build` reads
the whole stream before it returns), so a long `RUN` shows its output live and a failure
names its step. The engine's layer cache applies: a build where nothing changed takes
every step from the cache and makes no new image.

docker-py speaks to the classic builder only (no BuildKit: no `RUN --mount`, no
secrets); `docs/inner-loop.md` says so.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from workbench.errors import WorkbenchError

STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
KEPT_LINES = 40  # lines of the failing step kept (BuildFailed.output)
OUTPUT_IN_REASON = 5  # of those, the last ones the failure reason quotes


class BuildFailed(WorkbenchError):
    """The build stopped at a step; `step` and `output` say which and what it printed."""

    def __init__(self, message: str, step: str = "", output: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.step = step
        self.output = output


@dataclass
class BuildResult:
    image: str  # the tag
    image_id: str
    steps: int  # steps that build a layer (FROM lines are not counted)
    cached: int  # of those, the ones taken from the layer cache
    seconds: float
    lines: list[str] = field(default_factory=list)

    @property
    def all_cached(self) -> bool:
        return self.steps > 0 and self.cached == self.steps


class _Progress:
    """What the stream has said so far: the current step, its lines, the image id."""

    def __init__(self) -> None:
        self.step = ""
        self.steps = 0
        self.instructions = 0
        self.cached = 0
        self.step_lines: list[str] = []
        self.image_id = ""
        self.partial = ""

    def lines_of(self, text: str) -> list[str]:
        """Whole lines of a `stream` chunk (the builder splits them anywhere)."""
        text = self.partial + text
        *lines, self.partial = text.split("\n")
        return [line.rstrip("\r") for line in lines]

    def see(self, line: str) -> None:
        match = STEP.match(line)
        if match:
            self.step = line
            self.instructions = int(match.group(2))
            if not match.group(3).upper().startswith("FROM "):  # a FROM is never built, so never cached
                self.steps += 1
            self.step_lines = []
            return
        if line.strip() == "---> Using cache":
            self.cached += 1
        found = re.match(r"^Successfully built ([0-9a-f]+)$", line)
        if found and not self.image_id:
            self.image_id = found.group(1)
        self.step_lines = (self.step_lines + [line])[-KEPT_LINES:]


def _builder_noise(line: str) -> bool:
    """The builder's own lines between a step's output lines."""
    text = line.strip()
    return text.startswith("---> ") or text.startswith("Removing intermediate container")


def build_image(client, context: Path | str, tag: str, *, dockerfile: str | None = None,
                buildargs: dict | None = None, target: str | None = None, labels: dict | None = None,
                on_lines: Callable[[list[str]], None] | None = None,
                cancelled: threading.Event | None = None) -> BuildResult:
    """Build `context` into `tag`; `on_lines` hears the output line by line as it comes.

    Raises BuildFailed naming the failing step (and keeping its output), and
    WorkbenchError for a context or Dockerfile the engine cannot use. Never pulls: a
    FROM image must be in the engine (`pull=False`). Intermediate containers are removed
    even when a step fails (`forcerm`), as `docker build` does.
    """
    from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

    started = time.monotonic()
    progress = _Progress()
    every: list[str] = []

    def emit(lines: list[str]) -> None:
        every.extend(lines)
        for line in lines:
            progress.see(line)
        if on_lines and lines:
            on_lines(lines)

    try:
        stream = client.api.build(
            path=str(context), tag=tag, dockerfile=dockerfile, buildargs=buildargs or None, target=target or None,
            labels=labels or None, rm=True, forcerm=True, pull=False, decode=True,
        )
        for chunk in stream:
            if cancelled is not None and cancelled.is_set():
                stream.close()  # the engine cancels a build whose client went away
                raise BuildFailed("the build was cancelled", progress.step)
            if "stream" in chunk:
                emit(progress.lines_of(str(chunk["stream"])))
            if "aux" in chunk and isinstance(chunk["aux"], dict) and chunk["aux"].get("ID"):
                progress.image_id = str(chunk["aux"]["ID"])
            if "error" in chunk or "errorDetail" in chunk:
                if progress.partial:
                    emit([progress.partial])
                    progress.partial = ""
                detail = chunk.get("errorDetail") or {}
                message = str(detail.get("message") or chunk.get("error") or "unknown error").strip()
                output = tuple(line for line in progress.step_lines if not _builder_noise(line))
                emit([message])
                where = f"at {progress.step}" if progress.step else "before its first step"
                shown = " / ".join(line.strip() for line in output[-OUTPUT_IN_REASON:] if line.strip())
                raise BuildFailed(f"the build of {tag} failed {where}: {message}"
                                  + (f"; its output ended: {shown}" if shown else ""), progress.step, output)
        if progress.partial:
            emit([progress.partial])
    except APIError as err:  # a context or Dockerfile the engine refuses before building
        raise BuildFailed(f"the build of {tag} could not start: {err.explanation or err}") from None
    except TypeError as err:  # docker-py's own check (e.g. a Dockerfile path outside the context)
        raise BuildFailed(f"the build of {tag} could not start: {err}") from None
    if not progress.image_id:
        raise BuildFailed(f"the build of {tag} ended without an image; its last lines: "
                          + " / ".join(every[-3:]), progress.step, tuple(progress.step_lines))
    image_id = progress.image_id if progress.image_id.startswith("sha256:") else client.images.get(tag).id
    return BuildResult(tag, image_id, progress.steps, progress.cached, time.monotonic() - started, every)


def build_spec_image(client, spec: dict, emit: Callable, cancelled: threading.Event | None = None) -> BuildResult:
    """`Workbench.Build` of a spec: TrainingImage built from its context, as events
    (BuildStarted, BuildOutput, BuildFinished) for the job's bus or a printer. The image
    it replaces under the same tag is removed when nothing uses it (a watch loop would
    otherwise pile up untagged images). Raises BuildFailed."""
    from workbench.engine import events as ev  # the events module imports nothing heavy
    from workbench.spec.settings import WorkbenchSettings

    build = WorkbenchSettings.from_spec(spec).Build
    image = spec["AlgorithmSpecification"]["TrainingImage"]
    context = Path(build["Context"])
    emit(ev.BuildStarted(image, str(context), build.get("Dockerfile", ""), build.get("Target", "")))
    previous = _image_id(client, image)
    try:
        result = build_image(client, context, image, dockerfile=build.get("Dockerfile"),
                             buildargs={k: "" if v is None else str(v) for k, v in (build.get("BuildArgs") or {}).items()},
                             target=build.get("Target"), on_lines=lambda lines: emit(ev.BuildOutput(tuple(lines))),
                             cancelled=cancelled)
    except BuildFailed as err:
        emit(ev.BuildFinished(image, failure=str(err), step=err.step))
        raise
    emit(ev.BuildFinished(image, result.image_id, result.steps, result.cached, result.seconds))
    if previous and previous != result.image_id:
        remove_image_quietly(client, previous)
    return result


def _image_id(client, image: str) -> str:
    from docker.errors import APIError, ImageNotFound  # deferred: the Docker SDK (~0.25 s to import)

    try:
        return client.images.get(image).id
    except (ImageNotFound, APIError):
        return ""


def remove_image_quietly(client, image_id: str) -> None:
    """Best effort: an image a container or a child image still uses stays."""
    from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

    try:
        client.images.remove(image_id)
    except APIError:
        pass
