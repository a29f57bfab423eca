"""The embedded runner engine: a library with no UI imports. Start at `workbench.engine.api`."""
