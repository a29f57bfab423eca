"""Lines to metric values, as SageMaker reads them: each definition's regex searched in each
line (the first match), the value its first group captured, read as a number.

A host can print tens of thousands of lines a second and a job can have 40 definitions:
searching every line with every regex would cost several times what storing the line
does. Most regexes must contain some literal text (`loss=` in `loss=([0-9.]+)`), so a
batch's lines are joined once and the literals are looked for in the whole batch (C-level
scans; literals that start alike, `train:loss=` and `train:accuracy=`, share one scan).
Only where a literal occurs is the regex tried: at that very place when the regex starts
with it, else on that line. A regex with no such literal (or a case-insensitive one)
searches every line. The result is the same as searching every line with every regex
(a test checks it); lines are never held beyond the call.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Iterator, Sequence

from workbench.spec.metrics import MetricRegex

try:  # the parser behind `re` (private, but stable for years); without it every line is searched
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

Point = tuple[float, str, float]  # (line time, metric, value)
PREFIX_MIN = 3  # a shorter literal at the start is not worth preferring to a longer one elsewhere


@dataclass(frozen=True)
class Shortcut:
    """What a pattern lets the extractor skip: `literal`, text every match contains (None:
    search every line); `prefixed`, every match starts with it and nothing in the pattern
    looks around, so the regex can be tried right where the literal occurs."""

    literal: str | None
    prefixed: bool = False


def _op_names(items) -> Iterator[str]:
    """Every operation of a parsed pattern, nested ones included."""
    for op, value in items:
        yield str(op)
        for part in (value if isinstance(value, (list, tuple)) else (value,)):
            if isinstance(part, sre_parse.SubPattern):
                yield from _op_names(part)
            elif isinstance(part, list):
                for item in part:
                    if isinstance(item, sre_parse.SubPattern):
                        yield from _op_names(item)


def shortcut(pattern: re.Pattern) -> Shortcut:
    """The longest text every match of `pattern` must contain (see Shortcut).

    Only characters the pattern must match one after the other, outside of repeats,
    alternatives and lookarounds, count; groups are entered (their content is required).
    Case-insensitive matching gets none."""
    if pattern.flags & re.IGNORECASE:
        return Shortcut(None)
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # a pattern `re` compiled but this parser does not read: no shortcut
        return Shortcut(None)
    runs: list[tuple[int, str]] = []  # (position among the pattern's items, text)
    current: list[str] = []
    seen = [0]  # items passed, to tell the run at the very start

    def walk(items) -> bool:
        """False when something makes any literal unsafe (a case-insensitive group)."""
        for op, value in items:
            name = str(op)
            if name == "LITERAL":
                current.append(chr(value))
                continue
            if name == "SUBPATTERN":
                if value[1] & re.IGNORECASE or not walk(value[3]):
                    return False
                continue
            if current:  # anything else may match varying text: the run ends here
                runs.append((seen[0], "".join(current)))
                current.clear()
            seen[0] += 1
        return True

    if not walk(list(parsed)):
        return Shortcut(None)
    if current:
        runs.append((seen[0], "".join(current)))
    if not runs:
        return Shortcut(None)
    start, first = runs[0]
    looks_around = any(name in ("ASSERT", "ASSERT_NOT") for name in _op_names(parsed))
    if start == 0 and len(first) >= PREFIX_MIN and not looks_around:
        return Shortcut(first, prefixed=True)
    return Shortcut(max((text for _, text in runs), key=len))


@dataclass
class Rejected:
    """Matches whose capture was not a number: how many, and the first one."""

    count: int = 0
    example: str = ""


@dataclass
class _Plan:
    name: str
    pattern: re.Pattern
    shortcut: Shortcut


@dataclass
class _Group:
    """Definitions whose literals start alike: their common start (`anchor`) is looked for
    once, and at each place it occurs `which` tells the literals there (longest first, so
    the first alternative that matches is the longest literal present; the others present
    are its prefixes, `also`)."""

    anchor: str
    which: re.Pattern
    also: dict[str, list[int]]  # literal -> every plan index whose literal starts it
    nested: bool  # the anchor occurs inside a literal: occurrences may overlap, scan one by one


ANCHOR_MIN = 3  # shorter common starts match too much chatter to be worth sharing


def group_literals(literals: list[tuple[int, str]]) -> list[_Group]:
    """Literals grouped by their first ANCHOR_MIN characters; a group's anchor is its
    members' longest common start. Every occurrence of a literal is an occurrence of its
    anchor at the same place, so scanning for anchors finds every literal."""
    grouped: dict[str, list[tuple[int, str]]] = {}
    for index, literal in literals:
        key = literal[:ANCHOR_MIN] if len(literal) >= ANCHOR_MIN else literal + "\0"  # short: alone
        grouped.setdefault(key, []).append((index, literal))
    out = []
    for members in grouped.values():
        anchor = members[0][1]
        for _, literal in members[1:]:
            while not literal.startswith(anchor):
                anchor = anchor[:-1]
        distinct = sorted({literal for _, literal in members}, key=len, reverse=True)
        which = re.compile("|".join(re.escape(literal) for literal in distinct))
        also = {literal: [i for i, other in members if literal.startswith(other)] for literal in distinct}
        nested = any(literal.find(anchor, 1) >= 0 or "\n" in literal for literal in distinct)
        out.append(_Group(anchor, which, also, nested))
    return out


@dataclass
class Extractor:
    """The job's usable definitions (compiled, with a group), ready to read batches of lines.

    `extract` is thread-safe apart from the `rejected` counts, which are advice."""

    definitions: Sequence[MetricRegex]
    rejected: dict[str, Rejected] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._plans = [_Plan(d.name, d.pattern, shortcut(d.pattern)) for d in self.definitions if d.usable]
        self._everywhere = [i for i, plan in enumerate(self._plans) if plan.shortcut.literal is None]
        self._in_place = [plan.pattern.match if plan.shortcut.prefixed else None for plan in self._plans]
        self._names = [plan.name for plan in self._plans]
        self._groups = group_literals([(i, plan.shortcut.literal) for i, plan in enumerate(self._plans)
                                       if plan.shortcut.literal])

    def __bool__(self) -> bool:
        return bool(self._plans)

    def extract(self, lines: Sequence[tuple[float, str]]) -> list[Point]:
        """(time, metric, value) for every match in these lines, in line order (then in the
        definitions' order): one per line and definition at most, its first match."""
        if not self._plans or not lines:
            return []
        plans = self._plans
        texts = [text for _, text in lines]
        hits: list[tuple[int, int, float]] = []  # (row, plan index, value)
        searched = {(row, index) for index in self._everywhere for row in range(len(texts))}
        if self._groups:
            joined = "\n".join(texts)
            ends = list(accumulate(len(text) + 1 for text in texts))  # just past each line's newline
            done = [-1] * len(plans)  # per definition, the last row it gave a value for
            in_place = self._in_place  # per definition: its pattern's match method, or None (search the line)
            for group in self._groups:
                also = group.also
                for position, literal in self._occurrences(group, joined, ends):
                    row = bisect_right(ends, position)
                    for index in also[literal]:
                        match_at = in_place[index]
                        if match_at is None:
                            searched.add((row, index))
                            continue
                        if done[index] == row:
                            continue
                        match = match_at(joined, position, ends[row] - 1)  # as if the line ended there
                        if match is None:
                            continue
                        done[index] = row
                        captured = match.group(1)
                        try:
                            value = float(captured)
                        except (TypeError, ValueError):
                            value = None
                        if value is None or value - value != 0.0 or "_" in captured:  # as `number` reads it
                            self._reject(plans[index].name, captured)
                        else:
                            hits.append((row, index, value))
        for row, index in sorted(searched):  # in line order: the first rejected capture is the example
            match = plans[index].pattern.search(texts[row])
            if match is not None:
                value = number(match.group(1))
                if value is None:
                    self._reject(plans[index].name, match.group(1))
                else:
                    hits.append((row, index, value))
        if not hits:
            return []
        hits.sort()
        names = self._names
        return [(lines[row][0], names[index], value) for row, index, value in hits]

    @staticmethod
    def _occurrences(group: _Group, joined: str, ends: list[int]) -> Iterator[tuple[int, str]]:
        """(position, literal) wherever one of the group's literals occurs, the longest there."""
        if not group.nested:  # occurrences cannot overlap: the regex engine scans for them
            yield from ((found.start(), found.group()) for found in group.which.finditer(joined))
            return
        find, which, anchor = joined.find, group.which.match, group.anchor
        position = find(anchor)
        while position >= 0:
            found = which(joined, position, ends[bisect_right(ends, position)] - 1)
            if found is not None:
                yield position, found.group()
            position = find(anchor, position + 1)

    def _reject(self, name: str, captured: str | None) -> None:
        entry = self.rejected.get(name)
        if entry is None:
            entry = self.rejected[name] = Rejected(example=(captured or "")[:40])
        entry.count += 1


def number(text: str | None) -> float | None:
    """A capture read as SageMaker reads it: a decimal number (sign, decimals, exponent,
    spaces around); anything else, NaN and infinities included, is no value."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if value - value != 0.0 or "_" in text:  # NaN and infinities: no number
        return None
    return value
