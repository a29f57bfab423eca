"""Each host's /opt/ml tree (as the container sees it), browsable, with a file preview."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DirectoryTree, Select, Static

from workbench.engine import api
from workbench.tui.widgets.file_preview import FilePreview


class OptMlTree(DirectoryTree):
    """A DirectoryTree whose root reads as the container's path, not this machine's.

    The container made the tree and may have planted links to this machine's folders: a
    link is shown but never opened, and a folder is listed only when it is reached
    without following any link (it may have been swapped for one since it was shown)."""

    def __init__(self, path: Path, host: str, id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.tree_root = Path(path)
        self.host = host

    @staticmethod
    def _safe_is_dir(path: Path) -> bool:
        try:
            return path.is_dir() and not path.is_symlink()
        except OSError:
            return False

    def _directory_content(self, location: Path, worker) -> Iterator[Path]:
        try:
            rel = location.relative_to(self.tree_root.resolve()).as_posix()
        except ValueError:
            return  # resolved out of the tree: a folder became a link
        if not api.is_host_folder(self.tree_root, rel):
            return
        yield from super()._directory_content(location, worker)

    def render_label(self, node, base_style, style) -> Text:
        if node is self.root:
            return Text(f"/opt/ml ({self.host})", style=base_style + style)
        return super().render_label(node, base_style, style)


class OptMlBrowser(Horizontal):
    DEFAULT_CSS = """
    OptMlBrowser { height: 1fr; }
    OptMlBrowser > #files-left { width: 2fr; min-width: 24; max-width: 50; }
    OptMlBrowser #files-host { width: 1fr; }
    OptMlBrowser #files-note { padding: 0 1; height: auto; }
    OptMlBrowser OptMlTree { height: 1fr; }
    OptMlBrowser > FilePreview { width: 3fr; }
    OptMlBrowser.-unavailable > FilePreview { display: none; }
    OptMlBrowser.-unavailable > #files-left { width: 1fr; max-width: 100%; }
    """

    BINDINGS = [Binding("u", "reload", "Reload files", id="files.reload")]

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.roots: dict[str, Path] = {}
        self.host: str | None = None
        self.unavailable = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="files-left"):
            yield Select([], prompt="host", allow_blank=True, id="files-host", compact=True)
            yield Static("The hosts' /opt/ml trees appear when the job has started.", id="files-note")
        yield FilePreview()

    def set_unavailable(self, reason: str) -> None:
        self.unavailable = reason
        self.add_class("-unavailable")
        self.query_one("#files-host").display = False
        self.query_one("#files-note", Static).update(reason)

    def set_roots(self, roots: dict[str, Path]) -> None:
        """Hosts and where their /opt/ml lives on this machine."""
        if self.unavailable or roots == self.roots:
            return
        self.roots = dict(roots)
        select = self.query_one("#files-host", Select)
        select.set_options([(host, host) for host in roots])
        select.display = len(roots) > 1
        if self.host not in roots and roots:
            select.value = next(iter(roots))
            self.show_host(next(iter(roots)))

    @on(Select.Changed, "#files-host")
    def _host_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value != self.host:
            self.show_host(event.value)

    def show_host(self, host: str) -> None:
        self.host = host
        root = self.roots.get(host)
        for tree in self.query(OptMlTree):
            tree.remove()
        note = self.query_one("#files-note", Static)
        preview = self.query_one(FilePreview)
        preview.clear()
        if root is None or not root.is_dir():
            note.display = True
            note.update(f"{host}'s /opt/ml does not exist yet; it appears when the host starts (u reloads).")
            return
        note.display = False
        self.query_one("#files-left").mount(OptMlTree(root, host, id="files-tree"))

    def action_reload(self) -> None:
        trees = list(self.query(OptMlTree))
        if trees:
            trees[0].reload()
        elif self.host:
            self.show_host(self.host)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._preview(event.path)

    @on(DirectoryTree.NodeHighlighted)
    def _file_highlighted(self, event: DirectoryTree.NodeHighlighted) -> None:
        event.stop()
        entry = event.node.data
        if entry is not None and not event.node.allow_expand:
            self._preview(entry.path)

    def _preview(self, path: Path) -> None:
        trees = list(self.query(OptMlTree))
        if trees:
            self.query_one(FilePreview).show(trees[0].tree_root, path)
