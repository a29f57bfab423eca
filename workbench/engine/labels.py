"""The labels on everything sm-workbench creates in Docker (containers, networks, images).

A later process finds what a dead one left behind by them, so every site that sets or
reads one uses these names."""

from __future__ import annotations

import hashlib

LABEL_JOB = "sm-workbench.job"
LABEL_HOST = "sm-workbench.host"
LABEL_ROLE = "sm-workbench.role"  # holder, training, network, lint, holder-image
LABEL_HOME = "sm-workbench.home"


def home_label(home: str) -> str:
    """The state directory, hashed: labels must not leak paths and stay short."""
    return hashlib.sha1(home.encode()).hexdigest()[:16]
