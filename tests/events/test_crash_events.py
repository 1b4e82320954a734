"""Under ``kill -9`` of the app server during writes: after the restart every
acknowledged change has its events, and no event exists without its change (SQLite and
PostgreSQL). Events are written in the change's own transaction, so there is nothing to
recover: this checks that it stays so."""

from __future__ import annotations

import http.client
import json
import threading

import sqlalchemy as sa

from tests.hardening.live import Client
from tests.hardening.live import LiveServer
from willow.console.tokens import create_token
from willow.storage.extensions import db

CRASHES = 2
ACKS_BEFORE_KILL = 40
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _writer(server, token, round_, index, stop, acked):
    client = Client(server, token, timeout=20)
    step = 0
    try:
        while not stop.is_set():
            step += 1
            name = f"crash-{round_}-{index}-{step}@example.com"
            status, _, body = client.request("POST", "/Users", {"userName": name})
            if status != 201:
                continue
            user_id = json.loads(body)["id"]
            acked.append(("created", user_id))
            if step % 2 == 0:
                status, _, _ = client.request("PATCH", f"/Users/{user_id}", {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                })
                if status == 200:
                    acked.append(("deactivated", user_id))
    except (OSError, http.client.HTTPException, json.JSONDecodeError):
        # The server was killed under the request: before, during or after its response
        # (a body cut short is an IncompleteRead, not an OSError).
        pass
    finally:
        client.close()


def test_every_acknowledged_change_has_its_events_after_kill_9(app, database_url, tmp_path):
    with app.app_context():
        _, token = create_token(1, "crash")
        db.session.commit()
    # Dozens of deactivations in seconds would trip the deprovisioning guard, which holds
    # their events: this test is about events surviving a crash, not about the guard.
    assert app.test_cli_runner().invoke(args=["guard", "set", "--off"]).exit_code == 0
    acked: list[tuple[str, str]] = []
    for round_ in range(CRASHES):
        server = LiveServer(database_url, tmp_path / f"server{round_}.log").start()
        stop = threading.Event()
        threads = [
            threading.Thread(target=_writer, args=(server, token, round_, i, stop, acked))
            for i in range(3)
        ]
        before = len(acked)
        for thread in threads:
            thread.start()
        while len(acked) - before < ACKS_BEFORE_KILL and all(t.is_alive() for t in threads):
            threading.Event().wait(0.01)
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(30)
    with app.app_context():
        rows = db.session.execute(
            sa.text("SELECT sequence, type, body FROM events ORDER BY sequence")
        ).all()
        users = dict(db.session.execute(sa.text("SELECT id, active FROM users")).all())
        last = db.session.scalar(sa.text("SELECT event_sequence FROM organizations"))
    events = {(t, json.loads(b)["data"]["user"]["id"]) for _, t, b in rows}
    kinds = {"created": "user.created", "deactivated": "user.deactivated"}
    missing = [(k, u) for k, u in acked if (kinds[k], u) not in events]
    assert missing == []
    # No event without its change: each event's user is there, in the state it says.
    assert {u for t, u in events} <= set(users)
    assert {u for t, u in events if t == "user.deactivated"} == {
        u for u, active in users.items() if not active
    }
    assert [r.sequence for r in rows] == list(range(1, last + 1))
