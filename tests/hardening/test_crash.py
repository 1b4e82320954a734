"""Crash safety: the server is killed (SIGKILL on POSIX, TerminateProcess on Windows)
in the middle of a load of creates, updates and group PATCHes, then started again.

Every change the server acknowledged (a 2xx) must be there after the restart, no change
may be half-applied (each write sets several attributes, or several members, that must
agree), and every acknowledged change must have its request-log row. Three crashes per
database, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from dataclasses import field

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db

from .conftest import COUNTS
from .conftest import default_org_token
from .conftest import patch_ops
from .live import Client

pytestmark = pytest.mark.slow

CRASHES = 3
WRITERS = 6
#: Acknowledged writes to wait for before each kill (the load runs on while it is killed).
ACKS_BEFORE_KILL = 60


@dataclass
class Ledger:
    """What one writer thread sent and what the server acknowledged."""

    created: dict[str, int] = field(default_factory=dict)  # user id -> version acked
    #: user id -> (last acknowledged n, the n of a write in flight when the server died)
    updates: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    member_pairs: list[tuple[str, str]] = field(default_factory=list)
    sent_pairs: list[tuple[str, str]] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    acks: int = 0


def _user(name: str, n: int) -> dict:
    """Three attributes in two tables that always carry the same n."""
    return {
        "userName": name,
        "title": f"v{n}",
        "displayName": f"v{n}",
        "emails": [{"value": f"v{n}@crash.example.com", "type": "work", "primary": True}],
    }


def _writer(index: int, round_: int, server, token, group_id, stop, ledger, counter):
    client = Client(server, token, timeout=20)
    mine: list[str] = []
    unpaired: list[str] = []
    step = 0
    try:
        while not stop.is_set():
            step += 1
            kind = step % 3
            if kind == 1 or not mine:
                name = f"crash-{round_}-{index}-{step}@example.com"
                status, headers, body = client.request("POST", "/Users", _user(name, 0))
                if status == 201:
                    user_id = json.loads(body)["id"]
                    mine.append(user_id)
                    unpaired.append(user_id)
                    ledger.created[user_id] = 1
                    ledger.updates[user_id] = (0, None)
            elif kind == 2:
                user_id = mine[step % len(mine)]
                last, _ = ledger.updates[user_id]
                n = step
                ledger.updates[user_id] = (last, n)  # in flight
                ops = patch_ops(
                    {"op": "replace", "path": "title", "value": f"v{n}"},
                    {"op": "replace", "path": "displayName", "value": f"v{n}"},
                    {
                        "op": "replace",
                        "path": "emails",
                        "value": [{"value": f"v{n}@crash.example.com", "type": "work"}],
                    },
                )
                status, headers, body = client.request("PATCH", f"/Users/{user_id}", ops)
                if status == 200:
                    ledger.updates[user_id] = (n, None)
            else:
                if len(unpaired) < 2:
                    continue
                # two users in no other pair: both are members afterwards, or neither
                pair = (unpaired.pop(), unpaired.pop())
                ledger.sent_pairs.append(pair)
                members = [{"value": pair[0]}, {"value": pair[1]}]
                ops = patch_ops({"op": "add", "path": "members", "value": members})
                status, headers, body = client.request("PATCH", f"/Groups/{group_id}", ops)
                if status == 204:
                    ledger.member_pairs.append(pair)
            if status >= 500:
                raise AssertionError((status, body[:300]))
            if 200 <= status < 300:
                ledger.request_ids.append(headers["x-request-id"])
                ledger.acks += 1
                counter.append(1)
    except (OSError, http.client.HTTPException, json.JSONDecodeError):
        pass  # the server died under this request: it was never acknowledged
    finally:
        client.close()


def _run_until_killed(server, token, group_id, round_: int) -> list[Ledger]:
    stop = threading.Event()
    counter: list[int] = []
    ledgers = [Ledger() for _ in range(WRITERS)]
    threads = [
        threading.Thread(
            target=_writer,
            args=(i, round_, server, token, group_id, stop, ledgers[i], counter),
            daemon=True,
        )
        for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(counter) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # SIGKILL / TerminateProcess, in the middle of the load
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(counter) >= ACKS_BEFORE_KILL, "the load never got going"
    return ledgers


def _check_state(app, ledgers: list[Ledger], group_id: str) -> None:
    with app.app_context(), db.engine.connect() as conn:
        users = {
            row.id: row
            for row in conn.execute(
                sa.text(
                    "SELECT id, title, display_name, version FROM users WHERE deleted_at IS NULL"
                )
            )
        }
        emails: dict[str, list[str]] = {}
        for row in conn.execute(
            sa.text("SELECT user_id, value FROM user_values WHERE attribute = 'emails'")
        ):
            emails.setdefault(row.user_id, []).append(row.value)
        members = {
            row.user_id
            for row in conn.execute(
                sa.text("SELECT user_id FROM group_members WHERE group_id = :g"), {"g": group_id}
            )
        }
    problems = []
    for row in users.values():
        # nothing half-applied: the three attributes every write sets agree
        if row.display_name != row.title or emails.get(row.id) != [
            f"{row.title}@crash.example.com"
        ]:
            problems.append(
                f"{row.id}: half-applied: title {row.title!r}, displayName "
                f"{row.display_name!r}, emails {emails.get(row.id)}"
            )
    for ledger in ledgers:
        for user_id in ledger.created:
            if user_id not in users:
                problems.append(f"acknowledged create of {user_id} is lost")
        for user_id, (last, in_flight) in ledger.updates.items():
            row = users.get(user_id)
            if row is None:
                continue
            allowed = {f"v{last}"} | ({f"v{in_flight}"} if in_flight is not None else set())
            if row.title not in allowed:
                problems.append(f"{user_id}: title {row.title!r}, acknowledged v{last}")
        for a, b in ledger.member_pairs:
            if a not in members or b not in members:
                problems.append(f"acknowledged member add {a}, {b} is lost")
        for a, b in ledger.sent_pairs:
            if (a in members) != (b in members):
                problems.append(f"half-applied member add: {a} {a in members}, {b} {b in members}")
    assert not problems, "\n".join(problems[:40])


def _missing_log_rows(app, ledgers: list[Ledger]) -> list[str]:
    acknowledged = {rid for ledger in ledgers for rid in ledger.request_ids}
    with app.app_context(), db.engine.connect() as conn:
        logged = {
            row[0] for row in conn.execute(sa.text("SELECT request_id FROM scim_request_logs"))
        }
    return sorted(acknowledged - logged)


def _integrity(app) -> None:
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        duplicates = conn.execute(
            sa.text(
                "SELECT user_name_norm FROM users WHERE deleted_at IS NULL "
                "GROUP BY organization_id, user_name_norm HAVING count(*) > 1"
            )
        ).all()
        assert duplicates == []


@pytest.fixture
def crashed(app, live_servers):
    """Run the load and kill the server CRASHES times, restarting it each time; returns
    the ledgers of every round and the final server."""
    (server,) = live_servers(1)
    token = default_org_token(app)
    with Client(server, token) as setup:
        status, _, group = setup.json("POST", "/Groups", {"displayName": "crash group"})
    assert status == 201
    ledgers: list[Ledger] = []
    for round_ in range(CRASHES):
        ledgers += _run_until_killed(server, token, group["id"], round_)
        server.start()  # the same database, a new process
        _check_state(app, ledgers, group["id"])
        _integrity(app)
        COUNTS[f"kill -9 crashes survived ({server.database})"] += 1
    # the restarted server serves: it can read what was acknowledged and write more
    with Client(server, token) as client:
        some_id = next(iter(ledgers[0].created))
        assert client.request("GET", f"/Users/{some_id}")[0] == 200
        assert client.request("POST", "/Users", _user("after-crash@example.com", 1))[0] == 201
    return ledgers, group["id"]


def test_every_acknowledged_change_survives_kill_9_whole_and_with_its_log_row(app, crashed):
    ledgers, group_id = crashed
    assert sum(ledger.acks for ledger in ledgers) >= CRASHES * ACKS_BEFORE_KILL
    COUNTS["acknowledged writes checked after crashes"] += sum(ledger.acks for ledger in ledgers)
    _check_state(app, ledgers, group_id)
    missing = _missing_log_rows(app, ledgers)
    acknowledged = sum(len(ledger.request_ids) for ledger in ledgers)
    assert not missing, f"{len(missing)} of {acknowledged} acknowledged requests have no log row"
