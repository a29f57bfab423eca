"""Every relative link in the documentation leads somewhere.

README.md, docs/*.md and bench/README.md link to each other and to headings
(`docs/specs.md#validation`). A page moved or a heading reworded breaks such a link
without a sound, and a newcomer following it lands nowhere: here each relative link must
name a file of the checkout, and each `#anchor` a heading of its page, named as GitHub
names headings.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
# [text](target) and ![alt](target), with an optional "title"; text may hold `code`.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def prose(text: str, *, blank_code: bool = True) -> str:
    """The text with fenced code blocks blanked (lines kept, so numbers hold) and, with
    `blank_code`, code spans too: a link written inside backticks is an example, not a
    link (headings keep theirs: they name the anchor)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            lines.append("")
        elif fenced:
            lines.append("")
        else:
            lines.append(CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line) if blank_code else line)
    return "\n".join(lines)


def links(text: str):
    """(line number, target) of every link, also one whose text wraps onto the next line."""
    body = prose(text)
    for match in LINK.finditer(body):
        yield body.count("\n", 0, match.start()) + 1, match.group(1)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped,
    spaces turned into hyphens (`` `Workbench:` settings `` -> `workbench-settings`)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(page.read_text(encoding="utf-8"), blank_code=False).splitlines():
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of `page` that leads nowhere, as `page:line: target (why)`."""
    problems = []
    for number, target in links(page.read_text(encoding="utf-8")):
        if not target or EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{page.relative_to(root)}:{number}: {target}"
        destination = (page.parent / path_part).resolve() if path_part else page
        if root.resolve() not in (destination, *destination.parents):
            problems.append(f"{where} (outside the checkout)")
        elif not destination.exists():
            problems.append(f"{where} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{where} (no heading with that anchor in {destination.name})")
    return problems


def test_every_relative_link_and_anchor_leads_somewhere():
    assert (ROOT / "docs" / "README.md").exists()
    problems = [problem for page in pages() for problem in broken_links(page)]
    assert problems == []


def test_every_docs_page_is_in_the_index():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for _, target in links(index)}
    missing = [page.name for page in pages() if page.parent.name == "docs" and page.name != "README.md"
               and page.name not in linked]
    assert missing == []


def test_the_checker_finds_what_is_broken(tmp_path):
    """The check itself: a missing file, a missing anchor and a link out of the checkout are
    found, also in a link that wraps; links in code, external links and good anchors are
    not reported."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## `Workbench:` settings\n\n## Two\n\n## Two\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n"
        "[ok](docs/other.md#workbench-settings) [ok](docs/other.md#two-1) [ok](#title) [ok](docs/)\n"
        "[web](https://example.com/x.md) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "[gone](docs/gone.md) [bad anchor](docs/other.md#three) [here](#nothing) [out](../x.md)\n"
        "a link whose text [wraps\nonto the next line](docs/gone-too.md)\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md:7: docs/gone.md (no such file)",
        "README.md:7: docs/other.md#three (no heading with that anchor in other.md)",
        "README.md:7: #nothing (no heading with that anchor in README.md)",
        "README.md:7: ../x.md (outside the checkout)",
        "README.md:8: docs/gone-too.md (no such file)",
    ]
