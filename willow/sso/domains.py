"""Email domains of an organization's single sign-on.

An admin lists the organization's email domains on the Single sign-on page. A domain
belongs to one organization only (``sso_domains.domain`` is unique across all of them),
and it limits matching by email at once; but only a *verified* domain picks the
organization when someone signs in with a work email, so an admin cannot send another
organization's people to their own identity provider by listing its domain. A domain is
verified by a DNS TXT record ``willow-domain-verification=<token>`` at
``_willow.<domain>`` (a name of its own, so it does not crowd the domain's own TXT
records, where SPF lives), or granted by the operator with
``flask --app app sso domain grant DOMAIN --org SLUG``.

The TXT lookup is ``WILLOW_SSO_TXT_RESOLVER`` in the app config when set (the tests pass a
fake), else DNS through dnspython.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from collections.abc import Sequence

import dns.exception
import dns.resolver
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..storage.extensions import db
from ..storage.models import Organization
from ..storage.models import utcnow
from .models import SsoDomain

TXT_PREFIX = "_willow."
TXT_VALUE_PREFIX = "willow-domain-verification="
#: Seconds a DNS lookup may take.
DNS_LIFETIME = 5

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

#: ``(name) -> TXT strings``: the resolver's shape.
TxtResolver = Callable[[str], list[str]]


class DomainError(ValueError):
    """A domain that cannot be claimed, granted or verified; the message says why."""


class DnsUnavailable(Exception):
    """DNS could not answer (timeout, no server): try again later."""


def parse_domains(text: str | None) -> list[str]:
    """``"Example.com, @corp.example.org"`` → ``["example.com", "corp.example.org"]``."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text or ""):
        domain = raw.strip().lower().lstrip("@").rstrip(".")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise DomainError(f"{raw!r} is not an email domain (e.g. example.com)")
        if domain not in domains:
            domains.append(domain)
    return domains


def txt_name(domain: str) -> str:
    return TXT_PREFIX + domain


def txt_value(token: str) -> str:
    return TXT_VALUE_PREFIX + token


def txt_proves(records: Sequence[str], token: str) -> bool:
    """Whether one of the TXT strings is this claim's verification value."""
    expected = txt_value(token)
    return any(record.strip().strip('"') == expected for record in records)


def dns_txt_resolver(name: str) -> list[str]:
    """The TXT strings at ``name``; none when the name or the record does not exist."""
    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=DNS_LIFETIME)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise DnsUnavailable(f"DNS lookup of {name} failed: {type(exc).__name__}") from exc
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def txt_resolver() -> TxtResolver:
    return current_app.config.get("WILLOW_SSO_TXT_RESOLVER") or dns_txt_resolver


def domains_of(organization_id: int) -> list[SsoDomain]:
    return list(
        db.session.scalars(
            select(SsoDomain)
            .where(SsoDomain.organization_id == organization_id)
            .order_by(SsoDomain.domain)
        )
    )


def domain_names(organization_id: int) -> list[str]:
    return [d.domain for d in domains_of(organization_id)]


def _get(domain: str) -> SsoDomain | None:
    return db.session.scalars(select(SsoDomain).where(SsoDomain.domain == domain)).first()


def _new_claim(organization_id: int, domain: str) -> SsoDomain:
    row = SsoDomain(
        organization_id=organization_id,
        domain=domain,
        verification_token=secrets.token_urlsafe(24),
    )
    db.session.add(row)
    return row


def set_domains(organization: Organization, domains: list[str]) -> None:
    """Make the organization's claims exactly ``domains`` (kept ones keep their status);
    the caller commits. Raises DomainError when another organization holds one."""
    current = {d.domain: d for d in domains_of(organization.id)}
    for name, row in current.items():
        if name not in domains:
            db.session.delete(row)
    for name in domains:
        if name in current:
            continue
        held = _get(name)
        if held is not None:
            raise DomainError(f"the domain {name} is already claimed by another organization")
        _new_claim(organization.id, name)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Another organization claimed it between the check and the write.
        raise DomainError("one of these domains was just claimed by another organization") from exc


def verify_domain(organization_id: int, domain: str) -> SsoDomain:
    """Look up the claim's TXT record and mark it verified if the record is there; the
    caller commits. Raises DomainError (not this organization's claim, or no record yet)
    or DnsUnavailable."""
    row = _get(domain.strip().lower().rstrip("."))
    if row is None or row.organization_id != organization_id:
        raise DomainError(f"{domain} is not one of this organization's domains")
    if row.verified_at is not None:
        return row
    records = txt_resolver()(txt_name(row.domain))
    if not txt_proves(records, row.verification_token):
        raise DomainError(
            f"no TXT record {txt_value(row.verification_token)} found at "
            f"{txt_name(row.domain)} yet (DNS changes can take a while to be seen)"
        )
    row.verified_at = utcnow()
    row.verified_by = "dns"
    return row


def grant_domain(organization: Organization, domain: str) -> tuple[SsoDomain, str | None]:
    """The operator's word for it: the domain is the organization's, verified, taken
    from another organization if one held it (whose slug is returned); the caller commits."""
    names = parse_domains(domain)
    if len(names) != 1:
        raise DomainError("give one domain, e.g. example.com")
    name = names[0]
    row = _get(name)
    previous = None
    if row is None:
        row = _new_claim(organization.id, name)
    elif row.organization_id != organization.id:
        previous = db.session.get(Organization, row.organization_id).slug
        row.organization_id = organization.id
        row.verification_token = secrets.token_urlsafe(24)
    row.verified_at = utcnow()
    row.verified_by = "operator"
    db.session.flush()
    return row, previous


def remove_domain(domain: str) -> SsoDomain | None:
    """Remove a domain's claim, whichever organization holds it; the caller commits."""
    row = _get(domain.strip().lower().rstrip("."))
    if row is not None:
        db.session.delete(row)
    return row


def verified_organization_id(email: str) -> int | None:
    """The organization whose *verified* domain the email is at, if any."""
    domain = email.strip().lower().rpartition("@")[2].rstrip(".")
    if not domain:
        return None
    return db.session.scalar(
        select(SsoDomain.organization_id).where(
            SsoDomain.domain == domain, SsoDomain.verified_at.is_not(None)
        )
    )
