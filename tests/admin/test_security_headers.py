"""Browser security headers, and console pages that need no inline script or style (so the
Content-Security-Policy can forbid them)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from willow.server.security_headers import CONTENT_SECURITY_POLICY

SCIM = "application/scim+json"


def directives(policy: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


class InlineFinder(HTMLParser):
    """Collects everything a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        if "style" in names:
            self.found.append(f"style attribute on <{tag}>")
        self.found.extend(f"{name} handler on <{tag}>" for name in names if name.startswith("on"))
        for name, value in attrs:
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: URL on <{tag}>")


@pytest.fixture
def console_pages(app, client, console, directory, make_token):
    """Every kind of console page, with content: returns their URLs."""
    token = make_token(name="Okta")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
    user = client.post(
        "/scim/v2/Users",
        headers=headers,
        data=json.dumps(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"}
        ),
    ).get_json()["id"]
    group = directory.group("Engineering", members=[user])
    client.get("/scim/v2/Users/nope", headers=headers)
    console.login()
    created = client.post("/admin/tokens", data={"name": "New", "scopes": ["scim"]})
    app.extensions["willow_request_log"].flush()
    entry = re.search(
        r'href="(/monitor/scim-logs/\d+)"', client.get("/monitor/scim-logs").get_data(as_text=True)
    ).group(1)
    return [
        "/admin/tokens",
        created.headers["Location"],
        "/admin/tokens/1/revoke",
        "/admin/directory/users",
        f"/admin/directory/users/{user}",
        "/admin/directory/groups",
        f"/admin/directory/groups/{group}",
        "/admin/sessions",
        "/monitor/scim-logs",
        entry,
        "/admin/no-such-page",
    ]


def test_policy_forbids_inline_script_and_framing():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_console_pages_carry_the_security_headers(app, client, console_pages):
    anonymous = app.test_client()
    for url in ["/admin/login", *console_pages]:
        rv = (anonymous if url == "/admin/login" else client).get(url)
        assert rv.status_code in (200, 404), url
        assert rv.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert rv.headers["X-Frame-Options"] == "DENY", url
        assert rv.headers["Referrer-Policy"] == "same-origin", url
        assert rv.headers["X-Content-Type-Options"] == "nosniff", url


def test_console_pages_have_no_inline_script_style_or_event_handlers(client, console_pages):
    for url in console_pages:
        rv = client.get(url)
        finder = InlineFinder()
        finder.feed(rv.get_data(as_text=True))
        assert finder.found == [], url


def test_login_page_has_no_inline_script_or_style(client):
    finder = InlineFinder()
    finder.feed(client.get("/admin/login").get_data(as_text=True))
    assert finder.found == []


def test_the_finder_does_see_inline_content():
    """The check above would catch what it is meant to catch."""
    finder = InlineFinder()
    finder.feed(
        '<script>x()</script><style>p{}</style><p style="c:red" onclick="y()">'
        '<a href="javascript:z()">z</a><script src="/s.js"></script>'
    )
    assert len(finder.found) == 5


def test_redirects_csv_and_scim_answers_carry_nosniff_and_framing_headers(client, console, scim):
    for rv in (
        client.get("/admin/tokens"),  # redirect to sign-in
        scim.get("/Users"),
    ):
        assert rv.headers["X-Content-Type-Options"] == "nosniff"
        assert rv.headers["X-Frame-Options"] == "DENY"
    console.login()
    assert client.get("/monitor/scim-logs/export.csv").headers["X-Content-Type-Options"] == (
        "nosniff"
    )


def test_no_template_holds_inline_script_style_or_event_handlers():
    """Every template, including pages the tests above do not render: what the CSP would
    block must live in static/js and static/css."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    patterns = {
        "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
        "<style> element": re.compile(r"<style\b", re.I),
        "style attribute": re.compile(r"\sstyle\s*=", re.I),
        "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
        "javascript: URL": re.compile(r"javascript:", re.I),
    }
    found = [
        f"{path.relative_to(templates)}: {what}"
        for path in sorted(templates.rglob("*.html"))
        for what, pattern in patterns.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert len(list(templates.rglob("*.html"))) > 10


# -- https and caching ------------------------------------------------------------------


def test_https_answers_carry_strict_transport_security_without_subdomains(client, scim):
    for rv in (
        client.get("/admin/login", base_url="https://localhost"),
        scim.get("/Users", base_url="https://localhost"),
    ):
        assert rv.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_plain_http_answers_carry_no_strict_transport_security(client, scim):
    """A browser ignores it over http anyway; sending it would only mislead a reader."""
    for rv in (client.get("/admin/login"), scim.get("/Users"), client.get("/healthz")):
        assert "Strict-Transport-Security" not in rv.headers


def test_no_cache_keeps_a_console_page(app, client, console_pages):
    anonymous = app.test_client()
    for url in ["/admin/login", *console_pages]:
        rv = (anonymous if url == "/admin/login" else client).get(url)
        assert rv.headers["Cache-Control"] == "no-store", url
    assert client.get("/admin/tokens/new-page-that-is-not-there").headers["Cache-Control"] == (
        "no-store"
    )


def test_static_files_and_scim_answers_keep_their_own_caching(client, scim):
    with client.get("/static/css/willow.css") as css:
        assert css.status_code == 200
        assert css.headers["Cache-Control"] == "no-cache"  # Flask's: revalidate by ETag
    with client.get("/favicon.ico") as icon:
        assert icon.headers["Cache-Control"] == "no-cache"
    assert "Cache-Control" not in scim.get("/Users").headers
