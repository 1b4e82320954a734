"""Pure rules: the SCIM base URL an admin copies, and the SSO sentence every place says."""

from __future__ import annotations

import pytest

from willow.connection.base_url import FROM_BROWSER_NOTE
from willow.connection.base_url import scim_base_url
from willow.connection.sso_status import sso_status


@pytest.mark.parametrize(
    ("public_url", "url_root", "expected", "from_browser"),
    [
        (
            "https://willow.example.com",
            "http://10.0.0.5:8080/",
            "https://willow.example.com/scim/v2",
            False,
        ),
        ("https://willow.example.com/", "http://x/", "https://willow.example.com/scim/v2", False),
        ("https://example.com/willow", "http://x/", "https://example.com/willow/scim/v2", False),
        (None, "http://localhost:8080/", "http://localhost:8080/scim/v2", True),
        ("", "http://localhost:8080/", "http://localhost:8080/scim/v2", True),
        ("  ", "https://host/sub/", "https://host/sub/scim/v2", True),
    ],
)
def test_base_url_is_the_public_url_else_the_browsers_address_marked_as_such(
    public_url, url_root, expected, from_browser
):
    rv = scim_base_url(public_url, url_root)
    assert rv.url == expected
    assert rv.from_browser is from_browser
    assert rv.note == (FROM_BROWSER_NOTE if from_browser else None)


def test_the_base_url_never_ends_with_a_slash():
    assert not scim_base_url("https://a.example/", "http://b/").url.endswith("/")


def test_without_sso_the_status_says_provisioned_users_cannot_sign_in():
    status = sso_status(None)
    assert not status.configured
    assert "provisioned users cannot sign in until SSO is configured" in status.text


def test_with_sso_the_status_names_the_provider():
    status = sso_status("https://idp.example.com")
    assert status.configured
    assert "https://idp.example.com" in status.text
