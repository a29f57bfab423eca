"""Field paths like `InputDataConfig[2].DataSource.S3DataSource.S3Uri`: parse and format."""

from __future__ import annotations

import re
from typing import Any

from workbench.errors import WorkbenchError

Path = list  # of str (member or map key) and int (list index)

_TOKEN = re.compile(r"""\s*(?:\.?(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)|\[(?P<index>-?\d+)\]|\[(?P<quoted>"(?:[^"\\]|\\.)*"|'[^']*')\])""")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def parse_path(text: str) -> list[str | int]:
    """`A.B[2].C` or `HyperParameters["learning.rate"]` -> ["A", "B", 2, "C"]."""
    parts: list[str | int] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or (match.group("name") is not None and parts and text[pos] != "."):
            raise WorkbenchError(
                f"cannot read the field path {text!r} at position {pos + 1}: "
                "write it as Member.Member[0].Member, quoting odd keys as Map[\"a.b\"]"
            )
        if match.group("name") is not None:
            parts.append(match.group("name"))
        elif match.group("index") is not None:
            parts.append(int(match.group("index")))
        else:
            quoted = match.group("quoted")
            parts.append(quoted[1:-1].replace('\\"', '"'))
        pos = match.end()
    if not parts:
        raise WorkbenchError("empty field path: write it as Member.Member[0].Member")
    return parts


def format_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN.fullmatch(part):
            out += ("." if out else "") + part
        else:
            out += '["' + part.replace('"', '\\"') + '"]'
    return out


def value_at(data: Any, *keys: str | int) -> Any:
    """The value under member names and list indexes, or None where the spec has none
    (specs are user data: any level may be missing or of another type)."""
    for key in keys:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data
