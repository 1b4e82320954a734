"""Organizations: the tenants. On-prem installs have exactly one, ``default``."""

from __future__ import annotations

import re

from sqlalchemy import select

from ..storage.extensions import db
from ..storage.models import Organization

DEFAULT_SLUG = "default"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class OrganizationError(ValueError):
    pass


def get_organization(slug: str) -> Organization | None:
    return db.session.scalars(select(Organization).where(Organization.slug == slug)).first()


def require_organization(slug: str | None) -> Organization:
    slug = slug or DEFAULT_SLUG
    org = get_organization(slug)
    if org is None:
        raise OrganizationError(f"no organization with slug {slug!r}")
    return org


def create_organization(slug: str, name: str) -> Organization:
    if not _SLUG.match(slug):
        raise OrganizationError(
            "slug must be 1-64 characters: lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    if get_organization(slug) is not None:
        raise OrganizationError(f"organization {slug!r} already exists")
    name = name.strip()
    if not name:
        raise OrganizationError("name must not be empty")
    org = Organization(slug=slug, name=name)
    db.session.add(org)
    db.session.flush()
    return org
