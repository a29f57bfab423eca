"""Where sm-workbench keeps its state and config (XDG, overridable by SM_WORKBENCH_HOME)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """Root of jobs, caches and the data cache; created on first use."""
    home = os.environ.get("SM_WORKBENCH_HOME")
    if home:
        root = Path(home).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        root = Path(xdg) / "sm-workbench"
    root.mkdir(parents=True, exist_ok=True)
    return root


def config_dir() -> Path:
    home = os.environ.get("SM_WORKBENCH_HOME")
    if home:
        root = Path(home).expanduser()
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        root = Path(xdg) / "sm-workbench"
    root.mkdir(parents=True, exist_ok=True)
    return root


def jobs_dir() -> Path:
    path = state_dir() / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    path = state_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_output_dir() -> Path:
    """Where model.tar.gz goes when a local spec names no S3OutputPath."""
    return state_dir() / "outputs"
