"""Behind a reverse proxy: ``WILLOW_TRUSTED_PROXY`` makes the proxy's ``X-Forwarded-*``
the request's client address, scheme and host; without it (or from anyone else) they are
ignored. Tested on the WSGI app, and end to end through ``python app.py`` and
``waitress-serve`` started as the operator would, with a client that sends the headers a
proxy sends."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tests.hardening.live import LiveServer
from tests.hardening.live import free_port
from tests.hardening.live import plain_url
from willow import create_app
from willow.server.middleware import TrustedProxies
from willow.server.middleware import normalise_forwarded
from willow.server.middleware import parse_trusted_proxies
from willow.storage.extensions import db

ROOT = Path(__file__).resolve().parents[1]
SCIM_TYPE = "application/scim+json"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"}


def forwarded(client: str, proto: str = "https", host: str = "willow.example.com") -> dict:
    """The headers nginx sends with ``proxy_set_header X-Forwarded-*``."""
    return {"X-Forwarded-For": client, "X-Forwarded-Proto": proto, "X-Forwarded-Host": host}


# -- which peers are trusted (pure) ----------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "peer", "trusted"),
    [
        ("10.0.0.5", "10.0.0.5", True),
        ("10.0.0.5", "10.0.0.6", False),
        ("10.0.0.5, 10.0.0.6", "10.0.0.6", True),
        ("10.0.0.0/24", "10.0.0.77", True),
        ("10.0.0.0/24", "10.0.1.1", False),
        ("::1", "::1", True),
        ("[::1]", "::1", True),
        ("fd00::/8", "fd00::1234", True),
        ("127.0.0.1", "::1", False),
        ("*", "198.51.100.1", True),
        (None, "127.0.0.1", False),
        ("", "127.0.0.1", False),
        ("10.0.0.5", None, False),
        ("10.0.0.5", "not-an-address", False),
    ],
)
def test_a_peer_is_trusted_only_when_the_setting_names_it(setting, peer, trusted):
    assert parse_trusted_proxies(setting).trusts(peer) is trusted


@pytest.mark.parametrize("setting", ["proxy.internal", "10.0.0.300", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused_by_name(setting):
    with pytest.raises(ValueError, match=repr(setting)):
        parse_trusted_proxies(setting)


def test_the_app_does_not_start_with_a_trusted_proxy_it_cannot_read(database_url):
    with pytest.raises(SystemExit, match="WILLOW_TRUSTED_PROXY: 'proxy.internal' is not"):
        create_app(
            TestingConfig,
            {"SQLALCHEMY_DATABASE_URI": database_url, "WILLOW_TRUSTED_PROXY": "proxy.internal"},
        )


def test_no_setting_trusts_nobody():
    assert parse_trusted_proxies(None) == TrustedProxies()


@pytest.mark.parametrize(
    ("headers", "kept", "dropped"),
    [
        ({"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, []),
        (
            {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"},
            {"HTTP_X_FORWARDED_FOR": "203.0.113.7"},
            [],
        ),
        ({"HTTP_X_FORWARDED_FOR": "[2001:DB8::1]"}, {"HTTP_X_FORWARDED_FOR": "2001:db8::1"}, []),
        ({"HTTP_X_FORWARDED_FOR": "x" * 300}, {}, ["X-Forwarded-For"]),
        ({"HTTP_X_FORWARDED_FOR": "203.0.113.7, "}, {}, ["X-Forwarded-For"]),
        ({"HTTP_X_FORWARDED_PROTO": "HTTPS"}, {"HTTP_X_FORWARDED_PROTO": "https"}, []),
        ({"HTTP_X_FORWARDED_PROTO": "https, http"}, {"HTTP_X_FORWARDED_PROTO": "http"}, []),
        ({"HTTP_X_FORWARDED_PROTO": "javascript"}, {}, ["X-Forwarded-Proto"]),
    ],
)
def test_forwarded_values_are_reduced_to_the_last_one_or_dropped(headers, kept, dropped):
    environ = dict(headers)
    assert normalise_forwarded(environ) == dropped
    assert environ == kept


# -- through the WSGI app ---------------------------------------------------------------


@pytest.fixture
def proxied_app(database_url, backend):
    app = create_app(
        TestingConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WILLOW_TRUSTED_PROXY": "10.0.0.5",
            "WILLOW_ALLOWED_HOSTS": "willow.example.com,localhost",
            "WILLOW_AUTH_FAILURE_LIMIT": 1,
            # As in production: the sign-in form's CSRF token starts a session cookie.
            "WTF_CSRF_ENABLED": True,
        },
    )
    yield app
    app.extensions["willow_request_log"].stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _bad_token(client, peer: str, headers: dict) -> int:
    rv = client.get(
        "/scim/v2/Users",
        headers={"Authorization": "Bearer wrong", **headers},
        environ_base={"REMOTE_ADDR": peer},
    )
    return rv.status_code


def test_the_trusted_proxys_headers_give_scheme_host_and_client(app, proxied_app, make_token):
    """``app`` (unused) empties the PostgreSQL tables afterwards."""
    client = proxied_app.test_client()
    via_proxy = {"REMOTE_ADDR": "10.0.0.5"}
    rv = client.get("/admin/login", headers=forwarded("203.0.113.7"), environ_base=via_proxy)
    assert "Secure" in rv.headers["Set-Cookie"]
    assert rv.headers["Strict-Transport-Security"] == "max-age=31536000"
    rv = client.post(
        "/scim/v2/Users",
        data=json.dumps(USER),
        headers={
            "Authorization": f"Bearer {make_token()}",
            "Content-Type": SCIM_TYPE,
            **forwarded("203.0.113.7"),
        },
        environ_base=via_proxy,
    )
    assert rv.status_code == 201
    assert rv.headers["Location"].startswith("https://willow.example.com/scim/v2/Users/")
    assert rv.get_json()["meta"]["location"] == rv.headers["Location"]
    # One failure allowed per address: each forwarded client has a bucket of its own.
    assert _bad_token(client, "10.0.0.5", forwarded("203.0.113.7")) == 401
    assert _bad_token(client, "10.0.0.5", forwarded("203.0.113.7")) == 429
    assert _bad_token(client, "10.0.0.5", forwarded("203.0.113.8")) == 401


def test_anyone_but_the_trusted_proxy_cannot_forge_scheme_host_or_client(
    app, proxied_app, make_token
):
    client = proxied_app.test_client()
    elsewhere = {"REMOTE_ADDR": "198.51.100.1"}
    forged = forwarded("203.0.113.7", host="evil.example")
    rv = client.get("/admin/login", headers=forged, environ_base=elsewhere)
    assert rv.status_code == 200  # the forged host is not even looked at
    assert "Secure" not in rv.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in rv.headers
    rv = client.post(
        "/scim/v2/Users",
        data=json.dumps(USER),
        headers={
            "Authorization": f"Bearer {make_token()}",
            "Content-Type": SCIM_TYPE,
            **forwarded("203.0.113.7"),
        },
        environ_base=elsewhere,
    )
    assert rv.headers["Location"].startswith("http://localhost/scim/v2/Users/")
    # Every forged client address lands in the sender's own bucket.
    assert _bad_token(client, "198.51.100.1", forwarded("203.0.113.7")) == 401
    assert _bad_token(client, "198.51.100.1", forwarded("203.0.113.8")) == 429


def test_a_proxy_passing_on_a_clients_junk_gets_its_own_address_not_a_500(
    app, proxied_app, make_token
):
    """Addresses are stored in 64-character columns (PostgreSQL enforces it)."""
    client = proxied_app.test_client()
    junk = {"X-Forwarded-For": "x" * 300, "X-Forwarded-Proto": "HTTPS"}
    rv = client.get(
        "/scim/v2/Users",
        headers={"Authorization": f"Bearer {make_token()}", **junk},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert rv.status_code == 200
    assert rv.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert _bad_token(client, "10.0.0.5", junk) == 401
    proxied_app.extensions["willow_request_log"].flush()
    with proxied_app.app_context():
        addresses = db.session.execute(sa.text("SELECT client_ip FROM scim_request_logs"))
        assert set(addresses.scalars()) == {"10.0.0.5"}


def test_a_request_from_the_proxy_without_x_forwarded_for_is_reported_once(
    app, proxied_app, caplog
):
    """What an operator sees when waitress-serve removed the headers (started without
    --no-clear-untrusted-proxy-headers): otherwise nothing would say so."""
    client = proxied_app.test_client()
    for _ in range(2):
        client.get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    warnings = [r for r in caplog.records if "carried no X-Forwarded-For" in r.getMessage()]
    assert len(warnings) == 1
    assert "--no-clear-untrusted-proxy-headers" in warnings[0].getMessage()


# -- end to end: a real server behind a "proxy" on 127.0.0.1 ---------------------------


def _send(port: int, method: str, path: str, headers: dict, body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, response.msg, payload
    finally:
        conn.close()


def _scim(token: str, extra: dict) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": SCIM_TYPE, **extra}


def _client_addresses(database_url: str) -> set[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT client_ip FROM scim_request_logs").scalars()
            return set(rows)
    finally:
        engine.dispose()


def _proxy_round(port: int, token: str) -> dict:
    """What a client behind the proxy gets: the cookie, a Location and the failed-auth
    answers of two clients (limit: 2 per minute)."""
    status, headers, _ = _send(port, "GET", "/admin/login", forwarded("203.0.113.7"))
    assert status == 200
    cookie = headers.get_all("Set-Cookie")[0]
    hsts = headers.get("Strict-Transport-Security")
    status, headers, body = _send(
        port, "POST", "/scim/v2/Users", _scim(token, forwarded("203.0.113.7")), USER
    )
    assert status == 201, body
    location = headers["Location"]
    assert json.loads(body)["meta"]["location"] == location
    bad = _scim("wrong", forwarded("203.0.113.7"))
    first = [_send(port, "GET", "/scim/v2/Users", bad)[0] for _ in range(3)]
    other = _send(port, "GET", "/scim/v2/Users", _scim("wrong", forwarded("203.0.113.8")))[0]
    return {"cookie": cookie, "hsts": hsts, "location": location, "first": first, "other": other}


def _live(database_url: str, tmp_path: Path, **env: str) -> LiveServer:
    return LiveServer(
        database_url, tmp_path / "server.log", env={"WILLOW_AUTH_FAILURE_LIMIT": "2", **env}
    ).start()


@pytest.mark.slow
def test_python_app_py_behind_the_trusted_proxy_sees_https_the_host_and_each_client(
    app, database_url, make_token, tmp_path
):
    token = make_token()
    server = _live(
        database_url,
        tmp_path,
        WILLOW_TRUSTED_PROXY="127.0.0.1",
        WILLOW_ALLOWED_HOSTS="willow.example.com",
    )
    try:
        seen = _proxy_round(server.port, token)
    finally:
        server.stop()
    assert "Secure" in seen["cookie"]
    assert seen["hsts"] == "max-age=31536000"
    assert seen["location"].startswith("https://willow.example.com/scim/v2/Users/")
    assert seen["first"] == [401, 401, 429]
    assert seen["other"] == 401  # a bucket of its own
    log = server.log()
    assert '203.0.113.7 "GET /scim/v2/Users" 429' in log
    assert '203.0.113.8 "GET /scim/v2/Users" 401' in log
    assert '127.0.0.1 "' not in log
    assert _client_addresses(database_url) == {"203.0.113.7", "203.0.113.8"}


@pytest.mark.slow
def test_python_app_py_without_the_setting_ignores_forwarded_headers(
    app, database_url, make_token, tmp_path
):
    token = make_token()
    server = _live(database_url, tmp_path)
    try:
        seen = _proxy_round(server.port, token)
    finally:
        server.stop()
    assert "Secure" not in seen["cookie"]
    assert seen["hsts"] is None
    assert seen["location"].startswith(f"http://127.0.0.1:{server.port}/scim/v2/Users/")
    assert seen["first"] == [401, 401, 429]
    assert seen["other"] == 429  # one bucket: the forged addresses count as 127.0.0.1
    log = server.log()
    assert "203.0.113." not in log
    assert _client_addresses(database_url) == {"127.0.0.1"}


def _waitress_serve(database_url: str, tmp_path: Path, *flags: str) -> tuple:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILLOW_")}
    env.update(
        WILLOW_DATABASE_URL=plain_url(database_url),
        WILLOW_SECRET_KEY="proxy-test-secret-key",
        WILLOW_SETTINGS_FILE=str(tmp_path / "none.env"),
        WILLOW_LOG_PRUNE_INTERVAL="0",
        WILLOW_TRUSTED_PROXY="127.0.0.1",
        WILLOW_ALLOWED_HOSTS="willow.example.com",
        WILLOW_AUTH_FAILURE_LIMIT="2",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "waitress.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "waitress", *flags, f"--listen=127.0.0.1:{port}",
             "--call", "app:create_app"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            _send(port, "GET", "/healthz", forwarded("203.0.113.1"))
            return proc, port, log_path
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    # Ctrl+C: waitress-serve has no SIGTERM handler, and only a clean exit writes the
    # access log's last lines.
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="stopped with SIGINT")
# The same app as under python app.py: one database is enough.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_waitress_serve_keeping_proxy_headers_for_the_app_sees_each_client(
    app, make_token, database_url, backend, tmp_path
):
    token = make_token()
    proc, port, log_path = _waitress_serve(
        database_url, tmp_path, "--no-clear-untrusted-proxy-headers"
    )
    try:
        seen = _proxy_round(port, token)
    finally:
        _stop(proc)
    assert "Secure" in seen["cookie"]
    assert seen["location"].startswith("https://willow.example.com/scim/v2/Users/")
    assert (seen["first"], seen["other"]) == ([401, 401, 429], 401)
    assert '203.0.113.8 "GET /scim/v2/Users" 401' in log_path.read_text()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="stopped with SIGINT")
# The same app as under python app.py: one database is enough.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_waitress_serve_that_removes_proxy_headers_says_so_and_trusts_nothing(
    app, database_url, backend, tmp_path
):
    proc, port, log_path = _waitress_serve(database_url, tmp_path)
    try:
        status, headers, _ = _send(port, "GET", "/admin/login", forwarded("203.0.113.7"))
    finally:
        _stop(proc)
    # Waitress removed X-Forwarded-Host too: the request is for 127.0.0.1, not listed.
    assert status == 400
    output = log_path.read_text()
    assert "carried no X-Forwarded-For" in output
    assert "--no-clear-untrusted-proxy-headers" in output
