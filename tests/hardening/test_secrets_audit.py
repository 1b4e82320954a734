"""Secrets audit: after a provisioning run that sends passwords every way an IdP can (and
a few ways only a broken client would), no password, token secret or Authorization value
is anywhere Willow writes: the database (every table, the request log included; on
SQLite the raw database, WAL and shared-memory files), the application log of the
server, or the request log's CSV export.

The run goes to a real ``python app.py`` server, so the application log is the one an
operator would read.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from willow.console.tokens import revoke_token
from willow.storage.extensions import db

from .conftest import PATCH_OP
from .conftest import SEARCH_REQUEST
from .conftest import default_org_token
from .conftest import patch_ops
from .conftest import user_body
from .live import Client

pytestmark = pytest.mark.slow
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _secret(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"


def _provision(server, token: str, revoked: str) -> list[str]:
    """A provisioning run with secrets in it; returns every secret it sent."""
    secrets: list[str] = []

    def pw(label: str) -> str:
        secrets.append(_secret(label))
        return secrets[-1]

    sent: list[tuple[int, bytes]] = []
    with Client(server, token) as client:

        def send(method, path, body=None, headers=None, raw: bytes | None = None):
            status, _, payload = client.request(
                method, path, raw if raw is not None else body, headers
            )
            sent.append((status, payload))
            return status, payload

        status, payload = send(
            "POST", "/Users", {**user_body("audit@example.com"), "password": pw("post")}
        )
        assert status == 201
        uid = json.loads(payload)["id"]
        send("PUT", f"/Users/{uid}", {**user_body("audit@example.com"), "password": pw("put")})
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "replace", "path": "password", "value": pw("path")}),
        )
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "Replace", "path": "PASSWORD", "value": pw("entra")}),
        )
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "replace", "value": {"password": pw("nopath")}}),
        )
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "add", "path": f"{CORE}:password", "value": pw("urn")}),
        )
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "replace", "value": {CORE: {"password": pw("urnkey")}}}),
        )
        send("POST", "/Users", {"userName": "keycase@example.com", "PassWord": pw("keycase")})
        # the key spelled with a JSON escape, which no text search of the body would see
        escaped = pw("escaped")
        send(
            "POST",
            "/Users",
            raw=('{"userName":"esc@example.com","pass\\u0077ord":"' + escaped + '"}').encode(),
        )
        # refused requests: truncated JSON, a wrong type, too deep, a conflict
        send(
            "POST",
            "/Users",
            raw=('{"userName":"cut@example.com","password":"' + pw("cut") + '",').encode(),
        )
        send("POST", "/Users", {"userName": 42, "password": pw("badtype")})
        send(
            "POST",
            "/Users",
            raw=(
                '{"userName":"d","password":"' + pw("deep") + '","x":' + "[" * 40 + "]" * 40 + "}"
            ).encode(),
        )
        send("POST", "/Users", {**user_body("audit@example.com"), "password": pw("conflict")})
        send(
            "PATCH",
            f"/Users/{uid}",
            patch_ops({"op": "replace", "path": "password", "value": [pw("list")]}),
        )
        # a password where a client should never put one
        send("GET", "/Users?" + urlencode({"filter": f'password eq "{pw("filter")}"'}))
        send(
            "POST",
            "/Users/.search",
            {"schemas": [SEARCH_REQUEST], "filter": f'password eq "{pw("search")}"'},
        )
        send("GET", "/Users?" + urlencode({"access_token": pw("query-token")}))
        # credentials in headers: a revoked token, Basic, an API-key header
        basic = base64.b64encode(f"idp:{pw('basic')}".encode()).decode()
        secrets.append(basic)
        send("GET", "/Users", headers={"Authorization": f"Basic {basic}"})
        send("GET", "/Users", headers={"Authorization": f"Bearer {revoked}"})
        send("GET", "/Users", headers={"X-Api-Key": pw("api-key-header")})
        # groups, and the delete, so the run is a whole provisioning cycle
        status, payload = send(
            "POST", "/Groups", {"displayName": "audit", "members": [{"value": uid}]}
        )
        gid = json.loads(payload)["id"]
        send(
            "PATCH",
            f"/Groups/{gid}",
            {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]},
        )
        send("DELETE", f"/Users/{uid}")
    for status, payload in sent:
        assert status < 500, payload[:300]
        for secret in secrets:
            assert secret.encode() not in payload, f"a response echoed {secret}"
    return secrets, len(sent)


def _wait_for_log_rows(app, count: int) -> None:
    """The server writes the rows of reads and refused requests a moment after the
    response (its log writer's batch window): wait until all of them are committed."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with app.app_context(), db.engine.connect() as conn:
            if (
                conn.execute(sa.text("SELECT count(*) FROM scim_request_logs")).scalar_one()
                >= count
            ):
                return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} request-log rows after 20 s")


def _database_text(app, url: str) -> bytes:
    """Everything the database holds, as bytes: the files themselves on SQLite, every
    row of every table on PostgreSQL."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(
            p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
        )
    chunks = []
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for (row,) in conn.execute(sa.text(f'SELECT t::text FROM "{table.name}" t')):
                chunks.append(row)
    return "\n".join(chunks).encode()


def test_no_password_token_or_authorization_value_is_stored_logged_or_exported(
    app, database_url, live_servers, console
):
    (server,) = live_servers(1)
    token = default_org_token(app, "audit")
    revoked = default_org_token(app, "revoked")
    with app.app_context():
        from willow.storage.models import ApiToken

        revoke_token(
            db.session.scalars(sa.select(ApiToken).where(ApiToken.name == "revoked")).one()
        )
        db.session.commit()
    secrets, requests = _provision(server, token, revoked)
    secrets += [token, revoked, "correct horse battery staple"]
    _wait_for_log_rows(app, requests)
    console.login()
    export = console.client.get("/monitor/scim-logs/export.csv")
    assert export.status_code == 200
    exported = export.get_data()
    assert exported.count(b"/scim/v2/") >= requests  # the whole run is in it
    server.stop()  # the server's log and database files are complete
    stored = _database_text(app, database_url)
    assert b"audit@example.com" in stored  # the search does read the data
    log = server.log().encode()
    assert b"POST /scim/v2/Users" in log or b"serving on" in log
    leaks = [
        f"{secret[:24]} in {where}"
        for secret in secrets
        for where, text in (
            ("the database", stored),
            ("the application log", log),
            ("the CSV export", exported),
        )
        if secret.encode() in text
    ]
    assert not leaks, leaks
