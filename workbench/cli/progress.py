"""A one-line progress bar on stderr for transfers (redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time

from workbench.units import human_bytes


class ProgressBar:
    """Takes storage's TransferProgress snapshots; on a terminal it redraws one line at
    most every `interval`, elsewhere it stays quiet (logs and pipes get the final line only)."""

    WIDTH = 30

    def __init__(self, label: str, stream=None, interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval
        self._last = 0.0
        self._drawn = False

    def line(self, progress) -> str:
        total = progress.bytes_total or 0
        fraction = progress.bytes_done / total if total else (1.0 if progress.files_done >= progress.files_total else 0.0)
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(round(fraction * self.WIDTH))
        bar = "#" * filled + "." * (self.WIDTH - filled)
        return (f"{self.label} [{bar}] {fraction * 100:3.0f}%  {progress.files_done}/{progress.files_total} files  "
                f"{human_bytes(progress.bytes_done)} of {human_bytes(total)}")

    def __call__(self, progress) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self._last < self.interval and progress.files_done < progress.files_total:
            return
        self._last = now
        self.stream.write("\r\x1b[2K" + self.line(progress))
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
