"""Uniqueness enforced by the database: a lost race becomes the same 409 as a pre-check."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ...storage.extensions import db
from ..protocol.errors import Uniqueness


def flush_unique(detail: str) -> None:
    """Flush pending changes; a unique index violation (another request won the race
    between our pre-check and this write) is answered 409 ``uniqueness`` with ``detail``."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Uniqueness(detail) from None
