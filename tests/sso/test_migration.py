"""Migration 8a3351f943a1 moves each organization's email domains to rows of their own,
one organization per domain, and back on downgrade."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade
from flask_migrate import upgrade

from willow.storage.extensions import db
from willow.storage.models import utcnow

BEFORE = "3d44cdfc1311"


def _config(conn, org_id: int, domains: str) -> None:
    now = utcnow()
    conn.execute(
        sa.text(
            "INSERT INTO sso_configs (organization_id, issuer, client_id,"
            " client_secret_encrypted, allowed_domains, provider_metadata, enabled,"
            " require_sso, created_at, updated_at) VALUES (:org, 'https://idp.example.com',"
            " 'c', 's', :domains, '{}', true, false, :now, :now)"
        ),
        {"org": org_id, "domains": domains, "now": now},
    )


def test_domains_move_to_rows_unverified_and_a_shared_one_stays_with_the_first_org(app, org):
    with app.app_context():
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            other = conn.execute(
                sa.text(
                    "INSERT INTO organizations (slug, name, created_at)"
                    " VALUES ('acme', 'Acme', :now) RETURNING id"
                ),
                {"now": utcnow()},
            ).scalar()
            _config(conn, org.id, "example.com shared.example")
            _config(conn, other, "shared.example acme.example")
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT organization_id, domain, verified_at, verification_token"
                    " FROM sso_domains ORDER BY domain"
                )
            ).all()
        assert [(r[0], r[1]) for r in rows] == [
            (other, "acme.example"),
            (org.id, "example.com"),
            (org.id, "shared.example"),
        ]
        assert all(r[2] is None and len(r[3]) >= 32 for r in rows)

        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            kept = dict(
                conn.execute(
                    sa.text("SELECT organization_id, allowed_domains FROM sso_configs")
                ).all()
            )
        upgrade()
    assert kept == {org.id: "example.com shared.example", other: "acme.example"}
