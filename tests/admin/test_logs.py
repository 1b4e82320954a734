"""Admin → Logs: the landing page and its options menu."""

from __future__ import annotations

import re


def test_logs_page_has_an_accessible_options_menu_with_scim_logs(client, console):
    console.login()
    html = client.get("/admin/logs").get_data(as_text=True)
    button = re.search(r"<button[^>]*>⋮</button>", html).group(0)
    assert 'aria-label="More options"' in button
    assert 'aria-haspopup="true"' in button
    assert 'aria-expanded="false"' in button
    assert 'aria-controls="logs-menu"' in button
    menu = re.search(r'<ul id="logs-menu" role="menu"[^>]*hidden>(.*?)</ul>', html, re.S).group(1)
    assert re.search(r'<a role="menuitem" href="/monitor/scim-logs"[^>]*>SCIM Logs</a>', menu)


def test_logs_page_links_scim_logs_without_javascript_too(client, console):
    console.login()
    html = client.get("/admin/logs").get_data(as_text=True)
    assert '<h2 id="scim-logs-heading"><a href="/monitor/scim-logs">SCIM Logs</a></h2>' in html


def test_navigation_marks_logs_as_the_current_page(client, console):
    console.login()
    html = client.get("/admin/logs").get_data(as_text=True)
    assert '<a href="/admin/logs" aria-current="page">Logs</a>' in html
    assert '<a href="/admin/tokens">API Tokens</a>' in html
    assert '<a href="/admin/directory/users">Directory</a>' in html
