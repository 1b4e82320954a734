"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

A secret is ``whsec_`` followed by the base64 of its key bytes. Each delivery carries
``webhook-id`` (the event's ``event_id``, the consumer's idempotency key),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: ``v1,`` and the base64
HMAC-SHA256, under the key bytes, of ``"{webhook-id}.{webhook-timestamp}.{body}"``. While a
rotated secret is still honoured, one signature per secret is sent, space-separated, so a
consumer holding either secret verifies the delivery.

Pure: no Flask, no database; ``verify`` is the consumer's side, used by the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from collections.abc import Mapping

PREFIX = "whsec_"
#: 24 random bytes: the spec asks for 24 to 64.
KEY_BYTES = 24
#: How far a consumer's clock may be from the timestamp (the spec's suggestion).
TOLERANCE_S = 5 * 60


class InvalidSecret(ValueError):
    """A secret that is not ``whsec_`` and base64."""


class InvalidSignature(ValueError):
    """No signature in the header matches (or the timestamp is too far off)."""


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix is optional, as in the spec's
    libraries)."""
    encoded = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("a webhook secret is whsec_ followed by base64") from exc
    if not key:
        raise InvalidSecret("a webhook secret is whsec_ followed by base64")
    return key


def _as_bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """One ``v1,<base64>`` signature of a delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_: Iterable[str], msg_id: str, timestamp: int, body: str | bytes
) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def headers(
    secrets_: Iterable[str], msg_id: str, timestamp: int, body: str | bytes
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: str | bytes,
    *,
    now: int,
    tolerance: int = TOLERANCE_S,
) -> None:
    """Check a delivery as a consumer does; raises InvalidSignature. ``received`` maps
    lower-case header names to values."""
    msg_id = received.get("webhook-id", "")
    raw_timestamp = received.get("webhook-timestamp", "")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not a number") from None
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("webhook-timestamp is too far from now")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in received.get("webhook-signature", "").split():
        if hmac.compare_digest(candidate.encode(), expected):
            return
    raise InvalidSignature("no matching signature")
