"""Which request paths belong to the SCIM API: asked by the WSGI layers (the request
gate, the host check) before Flask routes anything, and by the error handlers."""

from __future__ import annotations


def is_scim_path(path: str) -> bool:
    return path == "/scim" or path.startswith("/scim/")
