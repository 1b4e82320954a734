"""The events API guarantee with two app servers on one PostgreSQL: a reader tailing by
cursor, while writers on both servers commit at once, sees every event exactly once and
in sequence order, over many rounds (PostgreSQL only: on SQLite writers are serialised)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tests.conftest import POSTGRES_URL
from tests.conftest import _reset_postgres
from tests.hardening.live import LiveServer
from tests.hardening.live import Pool
from willow import create_app
from willow.console.tokens import create_token
from willow.storage.extensions import db

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs WILLOW_TEST_POSTGRES_URL")

ROUNDS = 12
USERS_PER_ROUND = 24
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _tail(server: LiveServer, token: str, cursor: str | None) -> tuple[list[dict], str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        query = "/api/v1/events?limit=37" + (f"&after={cursor}" if cursor else "")
        conn.request("GET", query, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        return body["data"], body["next_cursor"]
    finally:
        conn.close()


def test_a_tailing_reader_sees_every_event_once_in_order_with_two_servers_writing(
    postgres_url, tmp_path
):
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": postgres_url})
    servers = []
    try:
        with app.app_context():
            _, token = create_token(1, "writer-and-reader", ["scim", "events"])
            db.session.commit()
        # 72 deactivations in seconds would trip the deprovisioning guard and hold their
        # events: this test is about the stream's order, not about the guard.
        assert app.test_cli_runner().invoke(args=["guard", "set", "--off"]).exit_code == 0
        servers = [
            LiveServer(postgres_url, tmp_path / f"server{i}.log", threads=8).launch()
            for i in range(2)
        ]
        for server in servers:
            server.wait_ready()
        pool = Pool(token, threads=8)
        seen: list[dict] = []
        stop = threading.Event()
        failures: list[BaseException] = []

        def reader() -> None:
            cursor, turn = None, 0
            try:
                while True:
                    finished = stop.is_set()
                    page, cursor = _tail(servers[turn % 2], token, cursor)
                    turn += 1
                    seen.extend(page)
                    if finished and not page:
                        return
            except BaseException as exc:  # reported by the test, not lost in the thread
                failures.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        group_ids = []
        for server in servers:
            status, _, body = pool.run([(server, "POST", "/Groups",
                                         {"displayName": f"g-{uuid.uuid4().hex[:8]}"})])[0]
            assert status == 201
            group_ids.append(json.loads(body)["id"])
        for round_ in range(ROUNDS):
            jobs = [
                (servers[i % 2], "POST", "/Users", {"userName": f"r{round_}u{i}@example.com"})
                for i in range(USERS_PER_ROUND)
            ]
            answers = pool.run(jobs)
            ids = [json.loads(body)["id"] for status, _, body in answers if status == 201]
            assert len(ids) == USERS_PER_ROUND
            # Multi-event transactions on both servers at once: member events in bulk.
            half = len(ids) // 2
            patches = [
                (servers[i % 2], "PATCH", f"/Groups/{group_ids[i % 2]}", {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "members",
                                    "value": [{"value": u} for u in chunk]}],
                })
                for i, chunk in enumerate((ids[:half], ids[half:]))
            ]
            patches += [
                (servers[(i + 1) % 2], "PATCH", f"/Users/{u}", {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                })
                for i, u in enumerate(ids[:6])
            ]
            assert all(a[0] in (200, 204) for a in pool.run(patches))
        time.sleep(0.2)
        stop.set()
        thread.join(60)
        assert not failures, failures
        with app.app_context():
            total = db.session.scalar(sa.text("SELECT count(*) FROM events"))
        expected = 2 + ROUNDS * (USERS_PER_ROUND * 2 + 6)
        assert total == expected
        sequences = [e["sequence"] for e in seen]
        assert sequences == list(range(1, expected + 1))
        assert len({e["id"] for e in seen}) == expected
    finally:
        for server in servers:
            server.stop()
        _reset_postgres(app)
