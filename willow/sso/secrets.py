"""Encryption of the OpenID client secret at rest.

The key is derived from the app's SECRET_KEY with HKDF (RFC 5869), under a label of its own,
so the session-signing key is never used directly for encryption and a database copy alone
does not reveal the secret. Fernet (AES-CBC + HMAC-SHA256, from ``cryptography``) provides
authenticated encryption: a tampered or foreign value fails to decrypt instead of yielding
garbage. If SECRET_KEY changes, stored secrets cannot be read and must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = b"willow sso client secret v1"


class SecretUnreadable(ValueError):
    """The stored secret was encrypted under another SECRET_KEY (or altered)."""


def _fernet(secret_key: str | bytes, info: bytes = _INFO) -> Fernet:
    material = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(plaintext: str, info: bytes = _INFO) -> str:
    """``info`` labels the key derived for one use (webhook signing secrets have their own)."""
    return _fernet(current_app.secret_key, info).encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str, info: bytes = _INFO) -> str:
    try:
        return _fernet(current_app.secret_key, info).decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(
            "the stored client secret cannot be decrypted (was the secret key changed?); "
            "enter the client secret again"
        ) from exc
