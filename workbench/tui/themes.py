"""Themes from the repository's `themes/` folder (YAML fields of `textual.theme.Theme`)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml
from textual.theme import Theme

DEFAULT_THEME = "workbench-dark"


def themes_dir() -> Path:
    """`themes/` beside the `workbench` package (the project is installed editable)."""
    return Path(__file__).resolve().parents[2] / "themes"


def load_themes(folder: Path | None = None) -> tuple[list[Theme], list[str]]:
    """Every `*.yaml` theme in the folder, and a line per file that could not be read
    (a broken theme file must not keep the workbench from starting)."""
    folder = folder or themes_dir()
    known = {f.name for f in fields(Theme)}
    themes: list[Theme] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise ValueError("not a mapping of Theme fields")
            unknown = sorted(set(data) - known)
            if unknown:
                raise ValueError(f"unknown fields {', '.join(unknown)}")
            data.setdefault("name", path.stem)
            themes.append(Theme(**data))
        except (OSError, ValueError, TypeError, yaml.YAMLError) as err:
            problems.append(f"theme {path.name}: {err}")
    return themes, problems
