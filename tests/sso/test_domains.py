"""An email domain belongs to one organization, and routes sign-ins only once verified
(DNS TXT record or the operator's grant); each organization also has its own sign-in URL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from willow.sso.domains import DomainError
from willow.sso.domains import parse_domains
from willow.sso.domains import txt_proves
from willow.sso.models import SsoDomain
from willow.sso.models import SsoSignInEvent
from willow.sso.settings import SsoSettingsError
from willow.storage.extensions import db
from willow.storage.models import Organization


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Example.com, @corp.example.org", ["example.com", "corp.example.org"]),
        ("example.com. example.com", ["example.com"]),
        ("", []),
    ],
)
def test_parse_domains(text, expected):
    assert parse_domains(text) == expected


@pytest.mark.parametrize("text", ["not a domain!", "localhost", "-bad.example.com"])
def test_parse_domains_refuses_what_is_not_an_email_domain(text):
    with pytest.raises(DomainError):
        parse_domains(text)


@pytest.mark.parametrize(
    ("records", "proves"),
    [
        (["willow-domain-verification=tok"], True),
        (['"willow-domain-verification=tok"', "v=spf1 -all"], True),
        (["willow-domain-verification=other"], False),
        (["willow-domain-verification=tok2"], False),
        ([], False),
    ],
)
def test_txt_proves(records, proves):
    assert txt_proves(records, "tok") is proves


@pytest.fixture
def acme(runner) -> str:
    assert runner.invoke(args=["org", "create", "acme", "--name", "Acme"]).exit_code == 0
    return "acme"


def domains(app) -> dict[str, tuple[str, bool]]:
    """domain → (organization slug, verified)"""
    with app.app_context():
        rows = db.session.execute(
            sa.select(SsoDomain.domain, Organization.slug, SsoDomain.verified_at).join(
                Organization, Organization.id == SsoDomain.organization_id
            )
        ).all()
    return {d: (slug, verified is not None) for d, slug, verified in rows}


def test_a_domain_belongs_to_one_organization(app, sso, acme, crafting_provider, mock_provider):
    sso.configure(mock_provider.issuer, allowed_domains="example.com")
    with pytest.raises(SsoSettingsError, match="example.com is already claimed"):
        sso.configure(crafting_provider.issuer, org_slug=acme, allowed_domains="example.com")
    assert domains(app) == {"example.com": ("default", False)}


def test_the_database_keeps_a_domain_to_one_organization(app, acme):
    with app.app_context():
        org_ids = db.session.scalars(sa.select(Organization.id)).all()
        for org_id in org_ids:
            db.session.add(
                SsoDomain(organization_id=org_id, domain="example.com", verification_token="t")
            )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_settings_page_refuses_another_organizations_domain_as_a_form_error(
    app, client, console, sso, acme, crafting_provider, mock_provider
):
    sso.configure(crafting_provider.issuer, org_slug=acme, allowed_domains="acme.example")
    console.login()
    rv = client.post(
        "/admin/sso/",
        data={
            "issuer": mock_provider.issuer,
            "client_id": "w",
            "client_secret": "s",
            "allowed_domains": "acme.example",
        },
    )
    assert rv.status_code == 400
    body = rv.get_data(as_text=True)
    assert "The domain acme.example is already claimed by another organization" in body
    assert domains(app) == {"acme.example": ("acme", False)}


def test_saving_the_settings_keeps_verified_domains_and_drops_removed_ones(
    app, runner, sso, mock_provider
):
    sso.configure(mock_provider.issuer, allowed_domains="example.com example.org")
    assert runner.invoke(args=["sso", "domain", "grant", "example.com"]).exit_code == 0
    sso.configure(mock_provider.issuer, allowed_domains="example.com example.net")
    assert domains(app) == {
        "example.com": ("default", True),
        "example.net": ("default", False),
    }


def test_the_page_shows_each_domains_status_and_txt_record_and_verify_now_verifies_it(
    app, client, console, sso, mock_provider, fake_dns
):
    sso.configure(mock_provider.issuer, allowed_domains="example.com")
    console.login()
    page = client.get("/admin/sso/").get_data(as_text=True)
    with app.app_context():
        token = db.session.scalars(sa.select(SsoDomain.verification_token)).one()
    assert "not verified" in page
    assert "_willow.example.com" in page
    assert f"willow-domain-verification={token}" in page
    assert "Verify now" in page

    # No record yet: says so, stays unverified.
    rv = client.post("/admin/sso/domains/verify", data={"domain": "example.com"})
    assert rv.status_code == 302
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "Not verified: no TXT record" in page
    assert domains(app) == {"example.com": ("default", False)}

    fake_dns.txt["_willow.example.com"] = ["v=spf1 -all", f"willow-domain-verification={token}"]
    client.post("/admin/sso/domains/verify", data={"domain": "example.com"})
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "example.com is verified" in page
    assert 'data-verified="yes"' in page
    assert domains(app) == {"example.com": ("default", True)}


def test_verify_now_when_dns_does_not_answer_says_so_without_a_500(
    app, client, console, sso, mock_provider, fake_dns
):
    sso.configure(mock_provider.issuer, allowed_domains="example.com")
    fake_dns.txt_down = True
    console.login()
    rv = client.post("/admin/sso/domains/verify", data={"domain": "example.com"})
    assert rv.status_code == 302
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "DNS did not answer" in page and "Timeout" not in page


def test_verify_now_refuses_another_organizations_domain(
    app, client, console, sso, acme, crafting_provider, fake_dns
):
    sso.configure(crafting_provider.issuer, org_slug=acme, allowed_domains="acme.example")
    with app.app_context():
        token = db.session.scalars(sa.select(SsoDomain.verification_token)).one()
    fake_dns.txt["_willow.acme.example"] = [f"willow-domain-verification={token}"]
    console.login()
    client.post("/admin/sso/domains/verify", data={"domain": "acme.example"})
    assert "not one of this organization" in client.get("/admin/sso/").get_data(as_text=True)
    assert domains(app) == {"acme.example": ("acme", False)}


def test_an_unverified_domain_does_not_route_and_a_verified_one_does(
    app, client, sso, acme, crafting_provider, mock_provider, fake_dns
):
    sso.configure(mock_provider.issuer, allowed_domains="default.example")
    sso.configure(crafting_provider.issuer, org_slug=acme, allowed_domains="acme.example")
    rv = client.post("/admin/sso/start", data={"email": "someone@acme.example"})
    assert rv.headers["Location"].startswith("/admin/login")

    with app.app_context():
        token = db.session.scalars(
            sa.select(SsoDomain.verification_token).where(SsoDomain.domain == "acme.example")
        ).one()
    fake_dns.txt["_willow.acme.example"] = [f"willow-domain-verification={token}"]
    result = app.test_cli_runner().invoke(
        args=["sso", "domain", "verify", "acme.example", "--org", acme]
    )
    assert result.exit_code == 0, result.output
    rv = client.post("/admin/sso/start", data={"email": "someone@acme.example"})
    assert rv.headers["Location"].startswith(crafting_provider.issuer)


def test_the_operator_grants_a_domain_from_the_command_line(app, runner, sso, acme, mock_provider):
    sso.configure(mock_provider.issuer, allowed_domains="acme.example")
    result = runner.invoke(args=["sso", "domain", "grant", "ACME.example", "--org", acme])
    assert result.exit_code == 0, result.output
    assert "Granted acme.example to organization acme, verified" in result.output
    assert "taken from organization default" in result.output
    assert domains(app) == {"acme.example": ("acme", True)}

    listed = runner.invoke(args=["sso", "domain", "list", "--org", acme])
    assert "acme.example: verified by operator" in listed.output
    assert runner.invoke(args=["sso", "domain", "list"]).output.startswith(
        "Organization default has no SSO email domains."
    )
    assert runner.invoke(args=["sso", "domain", "grant", "a.example b.example"]).exit_code != 0
    assert runner.invoke(args=["sso", "domain", "grant", "x", "--org", "nope"]).exit_code != 0

    assert runner.invoke(args=["sso", "domain", "remove", "acme.example"]).exit_code == 0
    assert domains(app) == {}
    assert runner.invoke(args=["sso", "domain", "remove", "acme.example"]).exit_code != 0


def test_each_organization_has_its_own_sign_in_url(
    app, client, console, sso, acme, crafting_provider, mock_provider
):
    sso.configure(mock_provider.issuer)
    sso.configure(crafting_provider.issuer, org_slug=acme)
    # Several SSO organizations and no email: the sign-in URL alone picks the organization.
    rv = client.get("/admin/sso/start", query_string={"org": acme})
    assert rv.status_code == 302 and rv.headers["Location"].startswith(crafting_provider.issuer)
    rv = client.post("/admin/sso/start?org=default")
    assert rv.status_code == 302 and rv.headers["Location"].startswith(mock_provider.issuer)
    console.login()
    page = client.get("/admin/sso/").get_data(as_text=True)
    assert "http://localhost/admin/sso/start?org=default" in page


def test_an_unknown_organizations_sign_in_url_is_refused_and_filed_nowhere(app, client, sso):
    rv = client.get("/admin/sso/start", query_string={"org": "nope"})
    assert rv.status_code == 404
    assert "not set up" in rv.get_data(as_text=True)
    assert sso.events() == []


def test_callbacks_without_a_started_sign_in_are_filed_under_no_organization(
    app, client, sso, crafting_provider
):
    """The browser started a sign-in for the organization, then sends forged callbacks:
    they are refused, and the organization's record stays empty."""
    sso.configure(crafting_provider.issuer)
    sso.start()
    for params in (
        {"code": "c", "state": "forged"},
        {"error": "access_denied", "error_description": "forged"},
        {"code": "c"},
    ):
        rv = client.get("/admin/sso/callback", query_string=params)
        assert rv.status_code in (400, 403)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SsoSignInEvent.id))) == 0


def test_the_recent_sso_sign_ins_are_paged(app, client, console, sso, mock_provider, org):
    sso.configure(mock_provider.issuer)
    with app.app_context():
        db.session.add_all(
            SsoSignInEvent(
                organization_id=org.id, outcome="refused", reason="no_match",
                email=f"user{i:03}@example.com",
            )
            for i in range(120)
        )
        db.session.commit()
    console.login()
    first = client.get("/admin/sso/").get_data(as_text=True)
    assert first.count('class="sso-event ') == 50
    assert "Page 1 of 3 (120 total)" in first
    assert "user119@example.com" in first and "user069@example.com" not in first
    last = client.get("/admin/sso/?page=3").get_data(as_text=True)
    assert last.count('class="sso-event ') == 20
    assert "user000@example.com" in last
    for page in ("999999999999999999999", "-3", "x"):
        rv = client.get(f"/admin/sso/?page={page}")
        assert rv.status_code == 200
