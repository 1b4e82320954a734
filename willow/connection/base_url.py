"""The SCIM base URL an admin gives the IdP (RFC 7644 §3: every endpoint is under it)."""

from __future__ import annotations

from dataclasses import dataclass

SCIM_PATH = "/scim/v2"

#: Said beside a URL taken from the browser's address: it is right for this browser, not
#: necessarily for an IdP on the internet (a proxy, another host name).
FROM_BROWSER_NOTE = "from this browser's address; set WILLOW_PUBLIC_URL to fix it"


@dataclass(frozen=True)
class ScimBaseUrl:
    url: str
    #: True when WILLOW_PUBLIC_URL is unset and the URL is the one the browser used.
    from_browser: bool

    @property
    def note(self) -> str | None:
        return FROM_BROWSER_NOTE if self.from_browser else None


def scim_base_url(public_url: str | None, url_root: str) -> ScimBaseUrl:
    """WILLOW_PUBLIC_URL + ``/scim/v2`` when set, else the request's URL root + ``/scim/v2``.

    No trailing slash: Okta's OIN checks reject one.
    """
    if public_url and public_url.strip():
        return ScimBaseUrl(public_url.strip().rstrip("/") + SCIM_PATH, from_browser=False)
    return ScimBaseUrl(url_root.rstrip("/") + SCIM_PATH, from_browser=True)
