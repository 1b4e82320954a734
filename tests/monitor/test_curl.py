"""Copy as curl: the command line of a logged request (pure; run through bash to check
that its quoting holds)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from willow.monitor.curl import curl_command

BASH = shutil.which("bash")


def _words(command: str, token: str = "tok-123") -> list[str]:
    """The arguments bash passes to curl for ``command`` (curl replaced by a printer)."""
    script = 'curl() { printf "%s\\0" "$@"; }\n' + command
    out = subprocess.run(
        [BASH, "-c", script], env={"TOKEN": token}, capture_output=True, check=True
    ).stdout
    return out.decode().split("\0")[:-1]


def _command(**kw):
    base = {
        "base_url": "https://willow.example.com/",
        "method": "GET",
        "path": "/scim/v2/Users",
        "query_string": None,
        "request_headers": None,
        "request_body": None,
    }
    return curl_command(**{**base, **kw})


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_command_survives_bash_quoting_with_quotes_dollars_and_newlines_in_the_body():
    body = '{"userName": "o\'brien@example.com", "note": "$HOME `id` \\"x\\"\\nline"}'
    rv = _command(
        method="POST",
        request_headers={"Content-Type": "application/scim+json", "Host": "x", "Accept": "*/*"},
        request_body=body,
    )
    assert _words(rv.text) == [
        "-X",
        "POST",
        "https://willow.example.com/scim/v2/Users",
        "-H",
        "Authorization: Bearer tok-123",
        "-H",
        "Content-Type: application/scim+json",
        "-H",
        "Accept: */*",
        "--data-raw",
        body,
    ]
    assert rv.notes == []


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_query_string_is_encoded_again_for_the_url():
    rv = _command(query_string='filter=userName eq "jane@example.com"&count=2')
    url = _words(rv.text)[0]
    assert url == (
        "https://willow.example.com/scim/v2/Users?filter=userName%20eq%20%22jane@example.com%22&count=2"
    )


def test_the_token_is_never_in_the_command_only_the_variable():
    rv = _command(request_headers={"Authorization": "Bearer willow_secret"})
    assert '"Authorization: Bearer $TOKEN"' in rv.text
    assert "willow_secret" not in rv.text


def test_a_redacted_body_is_sent_as_stored_and_said_so():
    rv = _command(method="POST", request_body='{"password": "[REDACTED]"}')
    assert "[REDACTED]" in rv.text
    assert any("redacted" in note for note in rv.notes)


def test_a_cut_body_is_sent_without_the_marker_and_said_so():
    stored = '{"userName": "a"\n…[truncated by Willow: 90000 bytes received, first 65536 stored]'
    rv = _command(method="POST", request_body=stored)
    assert "truncated by Willow" not in rv.text
    assert any("90000 bytes received" in note for note in rv.notes)


def test_a_body_that_was_not_stored_is_not_sent():
    rv = _command(method="POST", request_body="[body not stored: 413 Request Entity Too Large]")
    assert "--data-raw" not in rv.text
    assert any("not stored" in note for note in rv.notes)


def test_a_redacted_header_is_left_out_and_said_so():
    rv = _command(request_headers={"If-Match": "[REDACTED]"})
    assert "If-Match" not in rv.text
    assert any("If-Match" in note for note in rv.notes)
