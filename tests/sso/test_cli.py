"""The ``sso`` and ``group role`` command shapes that scripts rely on."""

from __future__ import annotations

import sqlalchemy as sa

from willow.sso.models import SsoConfig
from willow.sso.models import SsoDomain
from willow.sso.secrets import decrypt_secret
from willow.storage.extensions import db
from willow.storage.models import Group

from .providers import free_port


def test_sso_configure_reads_discovery_and_stores_the_secret_encrypted(
    app, runner, mock_provider
):
    result = runner.invoke(
        args=[
            "sso", "configure", "--issuer", mock_provider.issuer + "/", "--client-id", "willow",
            "--client-secret", "top-secret-value", "--allowed-domains", "Example.com, @corp.io",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "/admin/sso/callback" in result.output
    with app.app_context():
        config = db.session.scalars(sa.select(SsoConfig)).one()
        assert config.issuer == mock_provider.issuer
        assert config.provider_metadata["token_endpoint"].startswith(mock_provider.issuer)
        assert [d.domain for d in db.session.scalars(sa.select(SsoDomain))] == [
            "example.com", "corp.io"
        ]
        assert "top-secret-value" not in config.client_secret_encrypted
        assert decrypt_secret(config.client_secret_encrypted) == "top-secret-value"

    shown = runner.invoke(args=["sso", "show"])
    assert shown.exit_code == 0, shown.output
    assert mock_provider.issuer in shown.output and "willow" in shown.output
    assert "top-secret-value" not in shown.output
    assert "status: enabled" in shown.output

    disabled = runner.invoke(args=["sso", "disable"])
    assert disabled.exit_code == 0 and "Disabled SSO" in disabled.output
    assert "status: disabled" in runner.invoke(args=["sso", "show"]).output


def test_sso_configure_fails_clearly_when_the_issuer_is_unreachable_and_saves_nothing(
    app, runner
):
    issuer = f"http://localhost:{free_port()}"
    result = runner.invoke(
        args=["sso", "configure", "--issuer", issuer, "--client-id", "w", "--client-secret", "s"]
    )
    assert result.exit_code != 0
    assert "could not reach" in result.output and "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(SsoConfig)).first() is None


def test_sso_configure_refuses_plain_http_issuers_other_than_loopback(runner):
    result = runner.invoke(
        args=["sso", "configure", "--issuer", "http://idp.example.com", "--client-id", "w",
              "--client-secret", "s"]
    )
    assert result.exit_code != 0
    assert "https://" in result.output


def test_sso_configure_refuses_a_discovery_document_naming_another_issuer(
    runner, crafting_provider
):
    result = runner.invoke(
        args=["sso", "configure", "--issuer", crafting_provider.issuer + "/tenant",
              "--client-id", "w", "--client-secret", "s"]
    )
    assert result.exit_code != 0


def test_sso_show_and_disable_on_an_unconfigured_organization(runner):
    assert "not configured" in runner.invoke(args=["sso", "show"]).output
    assert "was not enabled" in runner.invoke(args=["sso", "disable"]).output
    assert runner.invoke(args=["sso", "show", "--org", "nope"]).exit_code != 0


def test_group_role_maps_a_pushed_group_and_none_removes_it(app, runner, sso):
    sso.push_group("Willow Admins", [])
    result = runner.invoke(args=["group", "role", "willow admins", "ADMIN"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(sa.select(Group.role)).one() == "admin"
    assert runner.invoke(args=["group", "role", "Willow Admins", "none"]).exit_code == 0
    with app.app_context():
        assert db.session.scalars(sa.select(Group.role)).one() is None


def test_group_role_refuses_unknown_groups_and_roles(runner, sso):
    sso.push_group("Engineering", [])
    unknown = runner.invoke(args=["group", "role", "Nobody", "admin"])
    assert unknown.exit_code != 0 and "no group named" in unknown.output
    assert runner.invoke(args=["group", "role", "Engineering", "owner"]).exit_code != 0
