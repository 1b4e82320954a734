"""API token management: generation, digest-only storage, lookup, revocation.

The check of a request's bearer token lives beside the SCIM views (``willow.scim.bearer``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from ..storage.extensions import db
from ..storage.models import ApiToken
from ..storage.models import utcnow

TOKEN_PREFIX = "wsk_"
SCIM_SCOPE = "scim"
EVENTS_SCOPE = "events"
SCOPES = {
    SCIM_SCOPE: "SCIM user and group provisioning",
    EVENTS_SCOPE: "Read provisioning events",
}
#: last_used_* is refreshed at most this often, so a busy IdP does not write on every call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(ValueError):
    """A token cannot be created as asked (bad name, scope or expiry)."""


def generate_token() -> tuple[str, str]:
    """A new random token and its digest. Only the digest is ever stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return plaintext, hash_token(plaintext)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def display_prefix(plaintext: str) -> str:
    return plaintext[: len(TOKEN_PREFIX) + 6]


def create_token(
    organization_id: int,
    name: str,
    scopes: list[str] | None = None,
    *,
    expires_at: datetime | None = None,
    created_by_id: int | None = None,
    created_by_label: str | None = None,
) -> tuple[ApiToken, str]:
    """Add a token to the session (the caller commits) and return it with its plaintext,
    which the caller shows once and then forgets."""
    name = name.strip()
    if not name or len(name) > 200:
        raise TokenError("Token name is required (at most 200 characters).")
    scopes = scopes or [SCIM_SCOPE]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TokenError(f"Unknown scope(s): {', '.join(unknown)}.")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise TokenError("The expiry must be in the future.")
    if any(
        t.name.lower() == name.lower() and t.status(now) == "active"
        for t in tokens_named(organization_id, name)
    ):
        raise TokenError(f"An active token named {name!r} already exists.")
    plaintext, digest = generate_token()
    token = ApiToken(
        organization_id=organization_id,
        name=name,
        scopes=" ".join(scopes),
        prefix=display_prefix(plaintext),
        digest=digest,
        expires_at=expires_at,
        created_by_id=created_by_id,
        created_by_label=created_by_label,
    )
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def tokens_named(organization_id: int, name: str) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(
                ApiToken.organization_id == organization_id,
                db.func.lower(ApiToken.name) == name.lower(),
            )
        )
    )


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def find_token(plaintext: str) -> ApiToken | None:
    """The token whose digest matches, whatever its status."""
    if not plaintext:
        return None
    digest = hash_token(plaintext)
    token = db.session.scalars(select(ApiToken).where(ApiToken.digest == digest)).first()
    # The index lookup already matched; the constant-time compare keeps it that way.
    if token is not None and hmac.compare_digest(token.digest, digest):
        return token
    return None
