"""The TUI's remembered settings (theme, key map) in the config directory, written atomically."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from workbench.fileio import write_text_atomic
from workbench.paths import config_dir

CONFIG_NAME = "tui.yaml"


@dataclass
class TuiConfig:
    theme: str = ""
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. log.follow: F

    @staticmethod
    def path() -> Path:
        return config_dir() / CONFIG_NAME

    @classmethod
    def load(cls) -> "TuiConfig":
        """The saved settings; defaults when there are none or the file is unreadable."""
        try:
            data = yaml.safe_load(cls.path().read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        keymap = data.get("keymap") if isinstance(data.get("keymap"), dict) else {}
        return cls(theme=str(data.get("theme") or ""), keymap={str(k): str(v) for k, v in keymap.items()})

    def save(self) -> None:
        write_text_atomic(self.path(), yaml.safe_dump(asdict(self), sort_keys=False))
