"""Three ``python app.py`` processes on one PostgreSQL database behind one address: the
deployment docs/several-app-servers.md describes, with a round-robin proxy in front
(``proxy.RoundRobinProxy``).

What must hold: a token's rate limit counts its requests on every server together; a
user and a group written through one server are read and changed through the others; the
absolute URLs and client addresses are the ones the proxy forwarded; and the request log
holds each request once, whichever server answered it.
"""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db

from .conftest import default_org_token
from .conftest import patch_ops
from .conftest import user_body
from .live import LiveServer
from .proxy import RoundRobinProxy

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["postgresql"])]

PUBLIC_HOST = "scim.example.test"
RATE_LIMIT = 30
SCIM_TYPE = "application/scim+json"


@pytest.fixture
def deployment(app, database_url, tmp_path):
    """Three servers configured alike, as the documentation says, and the proxy."""
    settings = {
        "WILLOW_TRUSTED_PROXY": "127.0.0.2",
        "WILLOW_ALLOWED_HOSTS": PUBLIC_HOST,
        "WILLOW_TOKEN_RATE_LIMIT": str(RATE_LIMIT),
        "WILLOW_SCIM_CONCURRENCY": "2",
    }
    servers = [
        LiveServer(database_url, tmp_path / f"server-{i}.log", threads=4, env=settings)
        for i in range(3)
    ]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        with RoundRobinProxy(
            [("127.0.0.1", s.port) for s in servers], public_host=PUBLIC_HOST
        ) as proxy:
            yield servers, proxy
    finally:
        for server in servers:
            server.stop()


def _send(proxy, token: str, method: str, path: str, body=None):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Accept": SCIM_TYPE}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = SCIM_TYPE
    try:
        conn.request(method, "/scim/v2" + path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return (
            response.status,
            dict(response.getheaders()),
            (json.loads(payload) if payload else None),
        )
    finally:
        conn.close()


def _logged(app, token_name: str) -> list[dict]:
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT method, status_code, client_ip, repeat_count FROM scim_request_logs "
                "WHERE token_name = :name ORDER BY id"
            ),
            {"name": token_name},
        )
        return [dict(row._mapping) for row in rows]


def _wait_for_log(app, token_name: str, done) -> list[dict]:
    """Each server's log writer commits within a fraction of a second of its answer."""
    deadline = time.monotonic() + 15
    rows = _logged(app, token_name)
    while not done(rows) and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = _logged(app, token_name)
    return rows


def test_one_tokens_rate_limit_counts_its_requests_on_every_server_together(app, deployment):
    servers, proxy = deployment
    token = default_org_token(app, "rate-limited")
    statuses = [
        _send(proxy, token, "GET", "/ServiceProviderConfig")[0] for _ in range(RATE_LIMIT + 15)
    ]
    # Every server answered 15 of the 45: counted per process, all 45 would be 200.
    assert proxy.served == [15, 15, 15]
    assert statuses == [200] * RATE_LIMIT + [429] * 15
    rows = _wait_for_log(
        app, "rate-limited", lambda rows: sum(r["repeat_count"] or 1 for r in rows) >= 45
    )
    served = [r for r in rows if r["status_code"] == 200]
    refused = [r for r in rows if r["status_code"] == 429]
    assert len(served) == RATE_LIMIT
    # The refusals of the minute are one counted entry, whichever servers refused them.
    assert len(refused) == 1
    assert refused[0]["repeat_count"] == 15


def test_writes_through_one_server_are_read_and_changed_through_the_others(app, deployment):
    servers, proxy = deployment
    token = default_org_token(app, "writer")
    status, headers, user = _send(proxy, token, "POST", "/Users", user_body("ada@example.com"))
    assert status == 201
    # The absolute URLs are the public ones the proxy forwarded, on every server.
    assert headers["Location"] == f"https://{PUBLIC_HOST}/scim/v2/Users/{user['id']}"
    status, _, group = _send(
        proxy,
        token,
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
        },
    )
    assert status == 201
    add = patch_ops({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    assert _send(proxy, token, "PATCH", f"/Groups/{group['id']}", add)[0] in (200, 204)
    deactivate = patch_ops({"op": "replace", "value": {"active": False}})
    assert _send(proxy, token, "PATCH", f"/Users/{user['id']}", deactivate)[0] in (200, 204)
    # Read back through each server in turn: every one sees every change.
    for _ in servers:
        status, _, seen = _send(proxy, token, "GET", f"/Users/{user['id']}")
        assert status == 200
        assert seen["active"] is False
        assert [g["value"] for g in seen.get("groups", [])] == [group["id"]]
        assert seen["meta"]["location"] == f"https://{PUBLIC_HOST}/scim/v2/Users/{user['id']}"
    assert proxy.served == [3, 2, 2]

    rows = _wait_for_log(app, "writer", lambda rows: len(rows) >= 7)
    assert [r["method"] for r in rows] == ["POST", "POST", "PATCH", "PATCH"] + ["GET"] * 3
    # The client's address, as the trusted proxy forwarded it, not the proxy's own.
    assert {r["client_ip"] for r in rows} == {"127.0.0.1"}
    for server in servers:
        assert "Traceback" not in server.log(), server.log()[-3000:]
