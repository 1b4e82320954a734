"""Browser tests: the real app served by waitress, driven by the system Chromium.

They run on SQLite only (the ``backend`` fixture is pinned below), share one browser per
session and get a fresh browser context (cookies, storage) and server per test. Without
/usr/bin/chromium they are skipped with a reason, except where WILLOW_REQUIRE_BROWSER=1
(CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def backend() -> str:
    """Browser tests exercise the UI, not the database: SQLite only."""
    return "sqlite"


@pytest.fixture(scope="session")
def chromium():
    """The session's one headless Chromium."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("WILLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(f"WILLOW_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        headless=True,
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live_server(app):
    """The test's app (already migrated, on its own SQLite file) served by waitress on a
    free port in a background thread; yields the base URL."""
    from waitress.server import create_server

    from tests.threaded_waitress import running

    server = create_server(
        app, host="127.0.0.1", port=0, threads=4, clear_untrusted_proxy_headers=True
    )
    with running(server):
        yield f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture
def page(chromium, live_server):
    """A page in a fresh browser context (its own cookies), with clipboard access granted
    so the copy button's clipboard path is the one exercised."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
