"""Signals the Docker engine delivered to a job's training containers, from its event stream.

A container's exit code does not say who ended it: a script that traps SIGTERM and exits
0 looks finished whether the SIGTERM was ours (a stop) or someone else's (`docker stop`,
`docker kill`). The engine reports every signal it delivers as a `kill` event, before the
container's `die`; one stream per job follows them, so the runner can tell an ending it
did not cause. While the stream is down (the engine restarting) nothing is known, and the
runner relies on having lost the engine instead.
"""

from __future__ import annotations

import signal as signals
import threading
import time

DIE_WAIT = 5.0  # how long an exit waits for its `die` event to arrive on the stream
RECONNECT = 1.0


class KillEvents:
    def __init__(self, client, labels: dict[str, str]) -> None:
        self.client = client
        self.filters = {"type": "container", "event": ["kill", "die"],
                        "label": [f"{k}={v}" for k, v in labels.items()]}
        self._kills: dict[str, list[str]] = {}  # container id -> signal names, in order
        self._died: set[str] = set()
        self._cond = threading.Condition()
        self._connected = False
        self._closed = False
        self._stream = None
        self._started = threading.Event()
        self.since = time.time()
        self._thread = threading.Thread(target=self._run, name="kill-events", daemon=True)

    def start(self) -> None:
        """Follow the stream from now on; returns once it is connected (or could not be)."""
        self.since = time.time()
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        since = None
        while not self._closed:
            try:
                stream = self.client.events(decode=True, filters=self.filters, since=since)
                self._stream = stream
                with self._cond:
                    self._connected = True
                self._started.set()
                for event in stream:
                    since = event.get("time", since)
                    self._take(event)
            except Exception:
                pass
            with self._cond:
                self._connected = False
                self._cond.notify_all()
            self._started.set()
            if not self._closed:
                time.sleep(RECONNECT)

    def _take(self, event: dict) -> None:
        container = (event.get("Actor") or {}).get("ID") or event.get("id") or ""
        action = event.get("Action") or event.get("status")
        with self._cond:
            if action == "kill":
                number = ((event.get("Actor") or {}).get("Attributes") or {}).get("signal", "")
                self._kills.setdefault(container, []).append(_name(number))
            elif action == "die":
                self._died.add(container)
            self._cond.notify_all()

    def signals_to(self, container_id: str, finished_at: float | None = None) -> list[str] | None:
        """Every signal delivered to the container up to its exit (at `finished_at`); None
        when the stream cannot tell (it ended before we followed, the stream was down, or
        the exit did not show on it in time)."""
        if finished_at is not None and finished_at < self.since - 1.0:
            return None
        deadline = time.monotonic() + DIE_WAIT
        with self._cond:
            while container_id not in self._died:
                left = deadline - time.monotonic()
                if left <= 0 or not self._connected:
                    return None
                self._cond.wait(min(left, 0.2))
            return list(self._kills.get(container_id, []))

    def close(self) -> None:
        self._closed = True
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        self._thread.join(timeout=2)


def _name(number: str) -> str:
    try:
        return signals.Signals(int(number)).name
    except (TypeError, ValueError):
        return str(number)
