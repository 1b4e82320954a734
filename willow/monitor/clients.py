"""Which IdP sent a request, told from its User-Agent: the log's client filter.

Okta's SCIM client says ``Okta SCIM Client 1.0.0`` (a captured request, see
/work/shared/idp-traffic.md §1.1). JumpCloud's and Entra ID's strings are not documented;
they are told by the vendor's name in the header (``JumpCloud``; ``Microsoft``, ``Azure``,
``Entra`` or ``AAD``). Anything else is ``other``, and a request without a User-Agent too.

Pure: a header value in, a family out.
"""

from __future__ import annotations

import re

#: The families in the filter's order, with their labels.
FAMILIES = {"okta": "Okta", "jumpcloud": "JumpCloud", "entra": "Entra ID", "other": "Other"}

_PATTERNS = (
    ("okta", re.compile(r"okta", re.IGNORECASE)),
    ("jumpcloud", re.compile(r"jump\s*cloud", re.IGNORECASE)),
    ("entra", re.compile(r"microsoft|azure|entra|\baad\b", re.IGNORECASE)),
)


def client_family(user_agent: str | None) -> str:
    """``okta``, ``jumpcloud``, ``entra`` or ``other``."""
    if user_agent:
        for family, pattern in _PATTERNS:
            if pattern.search(user_agent):
                return family
    return "other"
