"""The Textual workbench. Talks to the engine only through `workbench.engine.api` and its events."""
