"""The README is a front page and docs/ holds the rest: its links must keep working, and the
facts people copy from it (commands, settings, the service's stop timeout) must stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import Config
from willow.server import serve

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def _prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks (a ``# comment`` there is no heading)."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    rv = set()
    for line in _prose_lines(path):
        match = re.match(r"^#{1,6} (.+)$", line)
        if not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        # A repeated heading gets -1, -2, … as on GitHub.
        rv.add(slug if count == 0 else f"{slug}-{count}")
    return rv


def local_links() -> list[tuple[str, str]]:
    rv = []
    for page in PAGES:
        for line in _prose_lines(page):
            for target in LINK.findall(line):
                if not re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                    rv.append((page.relative_to(ROOT).as_posix(), target))
    return rv


def test_the_slugs_are_githubs():
    assert _slug("SCIM behaviour (where the RFCs leave a choice)") == (
        "scim-behaviour-where-the-rfcs-leave-a-choice"
    )
    assert _slug("`WILLOW_SCIM_CONCURRENCY`") == "willow_scim_concurrency"
    assert _slug("Retries, and when an endpoint is disabled") == (
        "retries-and-when-an-endpoint-is-disabled"
    )


@pytest.mark.parametrize(("page", "target"), local_links())
def test_every_link_between_the_readme_and_docs_reaches_a_file_and_heading(page, target):
    path, _, anchor = target.partition("#")
    file = (ROOT / page).parent / path if path else ROOT / page
    assert file.resolve().is_file(), f"{page} links to {target}: no such file"
    if anchor:
        assert anchor in anchors(file.resolve()), f"{page} links to {target}: no such heading"


def test_the_readme_links_every_page_under_docs():
    linked = {target.partition("#")[0] for page, target in local_links() if page == "README.md"}
    assert {f"docs/{doc.name}" for doc in DOCS} <= linked


def test_the_readme_is_a_front_page():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


def test_the_quick_start_prints_the_two_commands_exactly():
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    lines = quick_start.splitlines()
    assert "    python -m pip install -r requirements.txt && python app.py" in lines
    assert "    python -m pip install -r requirements-dev.txt && python -m pytest" in lines


def test_every_setting_config_reads_has_a_row_in_the_configuration_table():
    source = (ROOT / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"\(SETTINGS, \"(WILLOW_[A-Z_]+)\"", source))
    read |= set(re.findall(r"SETTINGS\.get\(\"(WILLOW_[A-Z_]+)\"", source))
    assert "WILLOW_DATABASE_URL" in read and "WILLOW_SCIM_CONCURRENCY" in read
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(WILLOW_[A-Z_]+)` \|", table, re.M))
    assert read - rows == set()


def test_the_windows_service_waits_longer_than_willows_longest_clean_stop():
    """NSSM ends the process after AppStopMethodConsole; ``shut_down`` may wait 2 s per
    webhook thread, 2 s for the pruner and STOP_FLUSH_TIMEOUT_S for the request log."""
    text = (ROOT / "docs" / "windows-service.md").read_text(encoding="utf-8")
    waits = [int(ms) for ms in re.findall(r"nssm set Willow AppStopMethodConsole (\d+)", text)]
    longest_stop_s = 2 * Config.WILLOW_WEBHOOK_THREADS + 2 + serve.STOP_FLUSH_TIMEOUT_S
    assert waits and min(waits) / 1000 > longest_stop_s
