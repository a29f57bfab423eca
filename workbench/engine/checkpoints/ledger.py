"""What a host's checkpoint folder already has in S3, kept on disk beside the folder.

A process that takes over a job (its runner died) compares the folder with the ledger:
files that differ are uploaded, files gone from the folder are deleted from S3 (also
those removed while nobody was watching), and restored files never touched are not
uploaded again. The ledger is a journal: each upload or delete appends one line, written
before the file is reported synced, so a process killed at any moment leaves a ledger
that knows at least everything it reported. It also knows which files the attempt's
hosts changed (uploaded or deleted; restored files untouched are not), so the summary
after a takeover counts them all, not only those the new process saw change.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from workbench.fileio import write_text_atomic


@dataclass(frozen=True)
class Signature:
    """What identifies one version of a file: a new write changes one of these."""

    size: int
    mtime_ns: int
    ino: int

    @classmethod
    def of(cls, info: os.stat_result) -> "Signature":
        return cls(info.st_size, info.st_mtime_ns, info.st_ino)

    def to_list(self) -> list[int]:
        return [self.size, self.mtime_ns, self.ino]

    @classmethod
    def from_list(cls, values: list) -> "Signature":
        return cls(int(values[0]), int(values[1]), int(values[2]))


class Ledger:
    def __init__(self, path: Path, entries: dict[str, Signature] | None = None) -> None:
        self.path = path
        self.entries: dict[str, Signature] = dict(entries or {})  # what S3 has
        self.changed: set[str] = set()  # uploaded or deleted by this attempt's sync
        self._journal = None

    @classmethod
    def load(cls, path: Path) -> "Ledger":
        ledger = cls(path)
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    if not line.endswith("\n"):
                        break  # cut short by a crash
                    try:
                        record = json.loads(line)
                        if "set" in record:
                            ledger.entries[record["set"]] = Signature.from_list(record["sig"])
                            if record.get("changed"):
                                ledger.changed.add(record["set"])
                        elif "drop" in record:
                            ledger.entries.pop(record["drop"], None)
                            ledger.changed.add(record["drop"])
                    except (ValueError, KeyError, TypeError, IndexError):
                        continue
        except FileNotFoundError:
            pass
        return ledger

    def get(self, rel: str) -> Signature | None:
        return self.entries.get(rel)

    def set(self, rel: str, signature: Signature) -> None:
        self.entries[rel] = signature
        self.changed.add(rel)
        self._append({"set": rel, "sig": signature.to_list(), "changed": True})

    def drop(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self.changed.add(rel)
            self._append({"drop": rel})

    def _append(self, record: dict) -> None:
        try:
            if self._journal is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._journal = open(self.path, "a", encoding="utf-8")
            self._journal.write(json.dumps(record) + "\n")
            self._journal.flush()
        except OSError:
            pass  # at worst a takeover uploads a file again, or misses one delete

    def save(self) -> None:
        """Rewrite the journal as one line per file (atomically)."""
        self.close()
        lines = [{"set": rel, "sig": sig.to_list(), **({"changed": True} if rel in self.changed else {})}
                 for rel, sig in sorted(self.entries.items())]
        lines += [{"drop": rel} for rel in sorted(self.changed - set(self.entries))]
        write_text_atomic(self.path, "".join(json.dumps(line) + "\n" for line in lines))

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
