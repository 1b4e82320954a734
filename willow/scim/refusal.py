"""Why a request's bearer token was refused (401), in the words of the admin reading the
request log, never in the IdP's answer.

The customer docs' first troubleshooting step is "verify the API token is correct and
copied without extra whitespace", so for a token Willow does not know the log gives the
facts that explain a copy-paste slip — its length, surrounding whitespace, quotes, a line
break, whether its public prefix (the characters the console shows) matches a token of
the organization, and which token it is once the slip is undone — and never anything
that would help guess the secret: no part of it beyond the prefix already shown in the
console, no digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from ..console.tokens import TOKEN_PREFIX
from ..console.tokens import display_prefix
from ..console.tokens import find_token
from ..storage.extensions import db
from ..storage.models import ApiToken
from ..storage.models import utcnow

#: Length of every token Willow issues: the prefix and 32 random bytes in base64url.
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43
#: Authorization schemes named in the log as they are (anything else could be a secret).
KNOWN_SCHEMES = {
    "basic": "Basic",
    "digest": "Digest",
    "token": "Token",
    "apikey": "ApiKey",
    "api-key": "Api-Key",
    "ssws": "SSWS",
    "negotiate": "Negotiate",
    "ntlm": "NTLM",
    "oauth": "OAuth",
}
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"
_LINE_BREAK = re.compile(r"\r|\n|\\r|\\n")


@dataclass(frozen=True)
class Refusal:
    """The log's explanation of a 401, and the organization it can be shown to (the
    organization of the token it names or resembles; None when it resembles none)."""

    text: str
    organization_id: int | None = None
    #: The token the request carried when the text names it for certain (revoked,
    #: expired, or sent malformed), so the log entry's Token agrees with the reason; None
    #: when it only resembles one.
    token_id: int | None = None
    token_name: str | None = None


def missing_or_not_bearer(header: str | None) -> Refusal:
    """No usable ``Bearer`` credentials in the Authorization header."""
    if header is None or not header.strip():
        return Refusal("No Authorization header: the IdP sent no API token.")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return Refusal("Bearer scheme without a token after it.")
    if header.strip().startswith(TOKEN_PREFIX) or _unquoted(header).startswith(TOKEN_PREFIX):
        refusal = Refusal(
            "Not a Bearer token: the API token was sent without 'Bearer ' in front of it "
            "(the header must read 'Bearer <token>')."
        )
        return _with_token_named(refusal, _cleaned(header), "sent with 'Bearer ' in front")
    named = KNOWN_SCHEMES.get(scheme.lower())
    what = f"the {named} scheme" if named else "a scheme Willow does not use"
    return Refusal(f"Not a Bearer token: the Authorization header uses {what}.")


def unknown_token(header: str, plaintext: str) -> Refusal:
    """A Bearer token whose digest matches no token: the safe facts about it."""
    value = header.strip().partition(" ")[2]
    facts = [f"{len(plaintext)} characters (a Willow token has {TOKEN_LENGTH})"]
    if value != value.strip(" \t") or header != header.strip():
        facts.append("surrounding whitespace (ignored)")
    if plaintext[:1] in _QUOTES or plaintext[-1:] in _QUOTES:
        facts.append("wrapped in quotes")
    if _LINE_BREAK.search(plaintext):
        facts.append("a line break in it")
    if re.search(r"\s", plaintext):
        facts.append("whitespace inside it")
    cleaned = _cleaned(plaintext)
    if not cleaned.startswith(TOKEN_PREFIX):
        facts.append(f"it does not start with {TOKEN_PREFIX}, as every Willow token does")
    refusal = Refusal("Unknown token: " + "; ".join(facts) + ".")
    if cleaned != plaintext:
        named = _with_token_named(refusal, cleaned, "with quotes, spaces and line breaks removed")
        if named is not refusal:
            return named
    return _with_prefix_match(refusal, cleaned)


def inactive_token(token, status: str) -> Refusal:
    """A known token (its row: id, name, organization_id, revoked_at, expires_at) that is
    revoked or expired: which one, and since when."""
    if status == "revoked":
        since = f"revoked {_when(token.revoked_at)}"
    else:
        since = f"expired {_when(token.expires_at)}"
    return Refusal(
        f"{status.capitalize()} token: “{token.name}” (id {token.id}), {since}.",
        token.organization_id,
        token.id,
        token.name,
    )


def _with_token_named(refusal: Refusal, candidate: str, how: str) -> Refusal:
    token = find_token(candidate) if candidate else None
    if token is None:
        return refusal
    status = token.status(utcnow())
    return Refusal(
        f"{refusal.text} {how[0].upper() + how[1:]}, it is the {status} token “{token.name}” "
        f"(id {token.id}): correct it in the IdP.",
        token.organization_id,
        token.id,
        token.name,
    )


def _with_prefix_match(refusal: Refusal, cleaned: str) -> Refusal:
    """Whether the token's public prefix (the part the console shows) is that of a token:
    then the rest was mistyped, cut short or belongs to an older token of the same name."""
    if not cleaned.startswith(TOKEN_PREFIX) or len(cleaned) < len(display_prefix(cleaned)):
        return refusal
    prefix = display_prefix(cleaned)
    token = db.session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).first()
    if token is None:
        # Not echoed: only a prefix the console already shows for a token is public.
        return Refusal(f"{refusal.text} Its first {len(prefix)} characters match no token.")
    return Refusal(
        f"{refusal.text} Its prefix {prefix}… matches the {token.status(utcnow())} token "
        f"“{token.name}” (id {token.id}), but the rest differs: copied incompletely or "
        "changed?",
        token.organization_id,
    )


def _cleaned(text: str) -> str:
    """The token with the usual copy-paste debris removed: whitespace, quotes, line breaks."""
    text = _LINE_BREAK.sub("", text)
    text = re.sub(r"\s", "", text)
    return text.strip(_QUOTES)


def _unquoted(text: str) -> str:
    return text.strip().strip(_QUOTES)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "(time unknown)"
