"""GPUs: utilization and memory per GPU as sparklines on a fixed 0-100 scale, and which
GPUs each host was given (GpuAssigned events, matched by kind so the panel reads them
whichever engine version wrote the log)."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from workbench.engine import events as ev
from workbench.tui.widgets.fixed_sparkline import FixedSparkline

HISTORY = 240  # samples kept per GPU (about four minutes at one a second)


class GpuCard(Vertical):
    DEFAULT_CSS = """
    GpuCard { height: auto; padding: 0 1; margin-bottom: 1; }
    GpuCard > .gpu-title { text-style: bold; }
    GpuCard > .gpu-caption { color: $text-muted; }
    """

    def __init__(self, index: int) -> None:
        super().__init__(id=f"gpu-{index}")
        self.index = index
        self.utilization: deque[float] = deque(maxlen=HISTORY)
        self.memory: deque[float] = deque(maxlen=HISTORY)

    def compose(self) -> ComposeResult:
        yield Label("", classes="gpu-title")
        yield Label("utilization %", classes="gpu-caption")
        yield FixedSparkline(classes="gpu-utilization")
        yield Label("memory %", classes="gpu-caption")
        yield FixedSparkline(classes="gpu-memory")

    def add(self, sample: ev.GpuSample) -> None:
        busy = sample.utilization  # None when the GPU cannot say (MIG)
        self.utilization.append(float(busy) if busy is not None else 0.0)
        total = sample.memory_total_mib or 1
        self.memory.append(100.0 * sample.memory_used_mib / total)
        extras = []
        if sample.temperature_c is not None:
            extras.append(f"{sample.temperature_c:.0f}°C")
        if sample.power_w is not None:
            extras.append(f"{sample.power_w:.0f} W")
        if sample.hosts:
            extras.append("hosts " + ", ".join(sample.hosts))
        shown = f"{busy:.0f}%" if busy is not None else "utilization n/a"
        self.query_one(".gpu-title", Label).update(
            f"GPU {sample.index} {sample.name}: {shown} · "
            f"{sample.memory_used_mib / 1024:.1f}/{sample.memory_total_mib / 1024:.1f} GiB"
            + (" · " + " · ".join(extras) if extras else ""))

    def redraw(self) -> None:
        self.query_one(".gpu-utilization", FixedSparkline).data = tuple(self.utilization)
        self.query_one(".gpu-memory", FixedSparkline).data = tuple(self.memory)


class GpuPanel(VerticalScroll):
    DEFAULT_CSS = """
    GpuPanel { height: 1fr; }
    GpuPanel > #gpu-empty { padding: 0 1; }
    GpuPanel > #gpu-assigned { padding: 0 1; height: auto; color: $text-muted; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cards: dict[int, GpuCard] = {}
        self.unavailable = ""
        self.assigned: dict[str, str] = {}  # host -> what it got

    def compose(self) -> ComposeResult:
        yield Static("[b]No GPU[/b]: no GPU samples for this job. It asked for no GPUs, or this "
                     "machine has none (NVML not available); `sm-workbench doctor` shows the GPUs it finds.",
                     id="gpu-empty")
        yield Static("", id="gpu-assigned")

    def set_unavailable(self, reason: str) -> None:
        self.unavailable = reason
        self.query_one("#gpu-empty", Static).update(reason)

    async def apply(self, events: list[ev.Event]) -> None:
        if self.unavailable:
            return
        assignments = [e for e in events if e.kind == "GpuAssigned"]
        for item in assignments:
            self.assigned[item.host] = _assignment(item)
        if assignments:
            self.query_one("#gpu-assigned", Static).update(
                "\n".join(f"{host}: {text}" for host, text in sorted(self.assigned.items())))
        samples = [e for e in events if isinstance(e, ev.GpuSample)]
        if not samples:
            return
        self.query_one("#gpu-empty").display = False
        touched = set()
        for sample in samples:
            card = self.cards.get(sample.index)
            if card is None:
                card = self.cards[sample.index] = GpuCard(sample.index)
                await self.mount(card)
            card.add(sample)
            touched.add(card)
        for card in touched:
            card.redraw()


def _assignment(event) -> str:
    gpus = tuple(getattr(event, "gpus", ()))
    expected = getattr(event, "expected", 0)
    kind = getattr(event, "instance_type", "")
    if gpus:
        names = tuple(getattr(event, "names", ()))
        listed = ", ".join(f"{i} ({n})" if n else str(i) for i, n in zip(gpus, names + ("",) * len(gpus)))
        return f"GPUs {listed}" + (f"; {kind} has {expected}" if expected and expected != len(gpus) else "")
    reason = getattr(event, "reason", "")
    if expected:
        return f"no GPU ({kind} has {expected}){': ' + reason if reason else ''}"
    return "runs on the CPU"
