"""What a path that is no SCIM route was probably meant to be.

An IdP that answers "Resource not found." for every call leaves the admin guessing; the
customer docs' first troubleshooting step is the base URL. The usual mistakes are few:
the base URL without ``/v2`` (``/scim/Users``), with it twice (``/scim/v2/v2/Users``, from
a base URL ending in ``/v2`` joined to paths that start with it), or a resource name in
the wrong case (``/scim/v2/users``: SCIM resource endpoints are case-sensitive). The hint
names the path to use instead, so the 404's detail and the log entry say it.

Pure: a path in, a sentence (or None) out.
"""

from __future__ import annotations

BASE = "/scim/v2"
#: The endpoints under the base URL, as they must be written.
ENDPOINTS = ("Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas")
_BY_LOWER = {name.lower(): name for name in ENDPOINTS}
_EXPECTED = "the base URL ends in /scim/v2 and resources are /Users and /Groups (case-sensitive)"


def hint(path: str) -> str:
    """Why ``path`` (already normalised: no doubled or trailing slash) matched no SCIM
    route, and the path meant when it can be told."""
    segments = [s for s in path.split("/") if s]
    # segments[0] is "scim" (only /scim paths are SCIM requests).
    rest = segments[1:]
    if rest[:1] != ["v2"]:
        meant = _meant(rest)
        if meant is not None:
            return f"The base URL is missing /v2: did you mean {meant}? ({_EXPECTED})."
        if rest and rest[0].lower() in ("v1", "v1.1", "v11"):
            return f"Willow speaks SCIM 2.0 only: {_EXPECTED}."
        return f"No SCIM endpoint here: {_EXPECTED}."
    rest = rest[1:]
    doubled = 0
    while rest[:1] == ["v2"] or rest[:2] == ["scim", "v2"]:
        rest = rest[1:] if rest[0] == "v2" else rest[2:]
        doubled += 1
    if doubled:
        meant = _meant(rest) or BASE + "".join(f"/{s}" for s in rest)
        return f"The base URL has /v2 twice: did you mean {meant}? ({_EXPECTED})."
    if not rest:
        return f"No SCIM endpoint here: {_EXPECTED}."
    name = _BY_LOWER.get(rest[0].lower())
    if name is None:
        return (
            f"{rest[0]!r} is not a SCIM endpoint: after /scim/v2 come "
            f"{', '.join(ENDPOINTS[:-1])} or {ENDPOINTS[-1]} (case-sensitive)."
        )
    if name != rest[0]:
        meant = _meant(rest)
        return f"Resource names are case-sensitive: did you mean {meant}?"
    if name in ("Users", "Groups") and len(rest) > 2:
        kind = name[:-1].lower()
        return f"A {kind} is addressed as {BASE}/{name}/{{id}}, with nothing after the id."
    return f"No SCIM endpoint here: {_EXPECTED}."


def _meant(rest: list[str]) -> str | None:
    """``rest`` under the base URL with the endpoint name spelled right, when it starts
    with one."""
    if not rest:
        return None
    name = _BY_LOWER.get(rest[0].lower())
    if name is None:
        return None
    return BASE + "/" + "/".join([name, *rest[1:]])
