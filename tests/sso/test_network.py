"""Willow connects for SSO only where it may: https, no internal or metadata addresses
(checked when the settings are saved and again at every connection), no redirects."""

from __future__ import annotations

import datetime
import ssl
import threading

import pytest
import requests
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from werkzeug.serving import make_server

from willow.sso import network
from willow.sso import oidc
from willow.sso.models import SsoConfig
from willow.sso.settings import SsoSettingsError
from willow.sso.settings import configure_sso
from willow.storage.extensions import db
from willow.storage.models import Organization

from .conftest import CLIENT_ID
from .conftest import CLIENT_SECRET
from .test_refusals import assert_refused
from .test_refusals import begin
from .test_refusals import finish


@pytest.mark.parametrize(
    ("address", "allow_private", "refused"),
    [
        ("93.184.216.34", False, None),
        ("2606:2800:220:1:248:1893:25c8:1946", False, None),
        ("10.0.0.1", False, "a private address"),
        ("172.16.5.4", False, "a private address"),
        ("192.168.1.1", False, "a private address"),
        ("100.64.0.1", False, "a private address"),
        ("fc00::1", False, "a private address"),
        ("127.0.0.1", False, "a loopback address"),
        ("::1", False, "a loopback address"),
        ("::ffff:10.0.0.1", False, "a private address"),
        ("10.0.0.1", True, None),
        ("127.0.0.1", True, None),
        ("169.254.169.254", True, "link-local or cloud metadata"),
        ("169.254.0.1", True, "link-local or cloud metadata"),
        ("::ffff:169.254.169.254", True, "link-local or cloud metadata"),
        ("fe80::1", True, "link-local or cloud metadata"),
        ("fd00:ec2::254", True, "link-local or cloud metadata"),
        ("0.0.0.0", True, "not a single host"),
        ("224.0.0.1", True, "not a single host"),
    ],
)
def test_address_rules(address, allow_private, refused):
    problem = network.address_refusal(address, allow_private=allow_private, allow_loopback=False)
    if refused is None:
        assert problem is None
    else:
        assert refused in problem
        # The reason never repeats the address (it would read back internal DNS).
        assert address not in problem


@pytest.mark.parametrize(
    ("url", "allow_http_loopback", "refused"),
    [
        ("https://idp.example.com", False, None),
        ("http://idp.example.com", False, "must start with https://"),
        ("http://localhost:8080", False, "must start with https://"),
        ("http://localhost:8080", True, None),
        ("http://127.0.0.1:8080", True, None),
        ("http://10.0.0.1", True, "http:// only to loopback"),
        ("http://idp.example.com", True, "http:// only to loopback"),
        ("ftp://idp.example.com", True, "must start with https://"),
        ("https://user:pw@idp.example.com", False, "carries credentials"),
        ("https://idp.example.com:99999", False, "is not a URL"),
        ("https:///path-only", False, "is not a URL"),
    ],
)
def test_url_rules(url, allow_http_loopback, refused):
    problem = network.url_refusal(url, allow_http_loopback=allow_http_loopback)
    assert (problem is None) if refused is None else (refused in problem)


def test_private_addresses_are_allowed_by_default_only_while_there_is_one_organization(
    app, runner
):
    with app.test_request_context():
        assert network.policy().allow_private is True
    assert runner.invoke(args=["org", "create", "acme", "--name", "Acme"]).exit_code == 0
    with app.test_request_context():
        assert network.policy().allow_private is False
    app.config["WILLOW_SSO_ALLOW_PRIVATE"] = True
    with app.test_request_context():
        assert network.policy().allow_private is True


def configure(app, issuer: str) -> None:
    with app.test_request_context():
        org = db.session.scalars(sa.select(Organization)).first()
        try:
            configure_sso(org, issuer, CLIENT_ID, CLIENT_SECRET)
            db.session.commit()
        finally:
            db.session.rollback()


def nothing_saved(app) -> bool:
    with app.app_context():
        return db.session.scalars(sa.select(SsoConfig)).first() is None


def test_an_http_issuer_on_a_private_address_is_refused(app, fake_dns):
    with pytest.raises(SsoSettingsError, match="must start with https://"):
        configure(app, "http://10.0.0.1")
    app.config["WILLOW_SSO_ALLOW_HTTP_LOOPBACK"] = False
    with pytest.raises(SsoSettingsError, match="must start with https://"):
        configure(app, "http://10.0.0.1")
    assert nothing_saved(app)


def test_an_https_issuer_resolving_to_loopback_is_refused_without_the_setting(app, fake_dns):
    app.config["WILLOW_SSO_ALLOW_PRIVATE"] = False
    app.config["WILLOW_SSO_ALLOW_HTTP_LOOPBACK"] = False
    fake_dns.addresses["idp.example.com"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(SsoSettingsError, match="idp.example.com resolves to a loopback address"):
        configure(app, "https://idp.example.com")
    assert nothing_saved(app)


def test_an_https_issuer_resolving_to_a_private_address_is_refused_with_several_organizations(
    app, runner, fake_dns
):
    assert runner.invoke(args=["org", "create", "acme", "--name", "Acme"]).exit_code == 0
    fake_dns.addresses["idp.corp.internal"] = ["10.1.2.3"]
    with pytest.raises(SsoSettingsError, match="resolves to a private address"):
        configure(app, "https://idp.corp.internal")
    assert nothing_saved(app)


def test_an_issuer_with_no_address_is_unreachable_and_says_no_more(app, fake_dns):
    with pytest.raises(SsoSettingsError, match="could not reach the discovery document"):
        configure(app, "https://nowhere.example.com")


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("token_endpoint", "https://10.0.0.5/token"),
        ("jwks_uri", "https://internal.example.com/jwks"),
        ("userinfo_endpoint", "https://192.168.0.10/userinfo"),
        ("authorization_endpoint", "https://10.0.0.5/authorize"),
        ("token_endpoint", "http://idp.example.com/token"),
    ],
)
def test_a_discovery_document_naming_a_private_or_plain_http_endpoint_is_refused(
    app, runner, fake_dns, crafting_provider, key, url
):
    # Two organizations: private addresses are refused; the provider itself is loopback,
    # allowed by WILLOW_SSO_ALLOW_HTTP_LOOPBACK (TestingConfig).
    assert runner.invoke(args=["org", "create", "acme", "--name", "Acme"]).exit_code == 0
    fake_dns.addresses["internal.example.com"] = ["10.9.9.9"]
    fake_dns.addresses["idp.example.com"] = ["93.184.216.34"]
    crafting_provider.discovery_overrides[key] = url
    with pytest.raises(SsoSettingsError, match=key.replace("_", " ")):
        configure(app, crafting_provider.issuer)
    assert nothing_saved(app)
    assert crafting_provider.token_requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/latest/meta-data",
        "https://metadata.example.com/token",
    ],
)
def test_a_metadata_address_is_refused_even_when_private_addresses_are_allowed(
    app, fake_dns, crafting_provider, url
):
    app.config["WILLOW_SSO_ALLOW_PRIVATE"] = True
    fake_dns.addresses["metadata.example.com"] = ["169.254.169.254"]
    crafting_provider.discovery_overrides["token_endpoint"] = url
    with pytest.raises(SsoSettingsError, match="link-local or cloud metadata"):
        configure(app, crafting_provider.issuer)
    assert nothing_saved(app)


def test_a_redirect_from_the_discovery_url_is_not_followed(app, fake_dns, crafting_provider):
    crafting_provider.discovery_redirect = "http://169.254.169.254/latest/meta-data"
    with pytest.raises(SsoSettingsError, match="did not answer a discovery document"):
        configure(app, crafting_provider.issuer)
    assert nothing_saved(app)


def test_addresses_are_checked_again_at_each_connection(sso, fake_dns, crafting_provider):
    """DNS rebinding: the provider's name resolved to an allowed address when the
    settings were saved, and to the metadata address at sign-in: nothing is sent."""
    sso.configure(crafting_provider.issuer)
    alice = sso.provision("alice@example.com", external_id="alice-okta-id")
    sso.push_group("Willow Admins", [alice], role="admin")
    state, nonce = begin(sso)
    crafting_provider.answer(nonce)
    fake_dns.addresses["localhost"] = ["169.254.169.254"]
    oidc.metadata_cache.forget(crafting_provider.issuer)
    rv = finish(sso, state)
    event = assert_refused(rv, sso, "provider_unreachable", status=502)
    assert "link-local or cloud metadata" in event["detail"]
    assert crafting_provider.token_requests == []


def test_the_connection_goes_to_the_checked_address(sso, fake_dns, crafting_provider):
    """The name the provider is configured with is resolved once, by Willow's resolver,
    for each connection: the system resolver is not asked again behind its back."""
    fake_dns.addresses["idp.localhost"] = ["127.0.0.1"]
    crafting_provider.issuer = crafting_provider.issuer.replace("localhost", "idp.localhost")
    sso.configure(crafting_provider.issuer)
    assert "idp.localhost" in fake_dns.lookups
    # idp.localhost is no name the system resolves: the request reached the provider
    # only through the checked address.
    alice = sso.provision("alice@example.com", external_id="alice-okta-id")
    sso.push_group("Willow Admins", [alice], role="admin")
    state, nonce = begin(sso)
    crafting_provider.answer(nonce)
    assert finish(sso, state).status_code == 302
    assert crafting_provider.token_requests


def _self_signed(tmp_path, host: str) -> tuple[str, str]:
    """A certificate for ``host`` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.mark.parametrize(("cert_host", "verifies"), [("idp.test", True), ("other.test", False)])
def test_https_to_the_checked_address_still_verifies_the_certificate_by_host_name(
    tmp_path, cert_host, verifies
):
    cert, key = _self_signed(tmp_path, cert_host)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    idp = Flask("tls-idp")
    idp.add_url_rule("/ping", view_func=lambda: "pong")
    server = make_server("127.0.0.1", 0, idp, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rules = network.Policy(
        allow_private=True, allow_http_loopback=False, resolver=lambda host: ["127.0.0.1"]
    )
    try:
        with network.guarded_session(rules)() as session:
            url = f"https://idp.test:{server.server_port}/ping"
            if verifies:
                rv = session.request("GET", url, withhold_token=True, verify=cert, timeout=5)
                assert rv.text == "pong"
            else:
                with pytest.raises(requests.exceptions.SSLError):
                    session.request("GET", url, withhold_token=True, verify=cert, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
