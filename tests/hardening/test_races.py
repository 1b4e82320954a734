"""Races across app servers: two ``python app.py`` processes on one PostgreSQL database,
and one SQLite server with many threads.

Requests start together from a pool of client threads, half to each server. What must
hold: one userName wins exactly once; member adds from both servers are all kept;
conditional updates (If-Match) never lose an update, the stale ones get 412; and no
request fails with a 5xx (SQLite's "database is locked" included).
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db

from .conftest import COUNTS
from .conftest import default_org_token
from .conftest import patch_ops
from .conftest import user_body
from .live import Client
from .live import Pool

pytestmark = pytest.mark.slow
ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])


def _statuses(answers) -> list[int]:
    return [status for status, _, _ in answers]


def _no_server_errors(answers) -> None:
    errors = [(s, body[:200]) for s, _, body in answers if s >= 500]
    assert not errors, errors


def _servers_logged_no_errors(servers) -> None:
    for server in servers:
        log = server.log()
        assert "Traceback" not in log, log[-3000:]
        assert "database is locked" not in log


def _count(app, sql: str, **params) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


@ON_POSTGRESQL
def test_200_creates_of_one_user_name_across_two_servers_make_exactly_one_user(app, live_servers):
    servers = live_servers(2)
    token = default_org_token(app)
    jobs = []
    for i in range(200):
        # the same userName in different letter cases: unique case-insensitively
        name = "Race.Winner@example.com" if i % 2 else "race.winner@EXAMPLE.com"
        jobs.append((servers[i % 2], "POST", "/Users", user_body(name)))
    pool = Pool(token, threads=24)
    answers = pool.run(jobs)
    COUNTS["concurrent requests"] += pool.sent
    _no_server_errors(answers)
    statuses = _statuses(answers)
    assert statuses.count(201) == 1, sorted(set(statuses))
    assert statuses.count(409) == 199
    for status, _, body in answers:
        if status == 409:
            assert json.loads(body)["scimType"] == "uniqueness"
    sql = "SELECT count(*) FROM users WHERE user_name_norm = :n AND deleted_at IS NULL"
    assert _count(app, sql, n="race.winner@example.com") == 1
    _servers_logged_no_errors(servers)


@ON_POSTGRESQL
def test_member_adds_to_one_group_from_both_servers_lose_no_member(app, live_servers):
    servers = live_servers(2)
    token = default_org_token(app)
    setup = Client(servers[0], token)
    user_ids = []
    for i in range(120):
        status, _, body = setup.json("POST", "/Users", {"userName": f"member{i}@example.com"})
        assert status == 201
        user_ids.append(body["id"])
    status, _, group = setup.json("POST", "/Groups", {"displayName": "raced group"})
    assert status == 201
    setup.close()
    jobs = []
    for i in range(0, 120, 2):
        # one member per PATCH, and two per PATCH, in both Okta's and Entra's shapes
        value = [{"value": user_ids[i]}, {"value": user_ids[i + 1]}] if i % 4 else None
        if value is None:
            for j in (i, i + 1):
                ops = patch_ops({"op": "add", "path": "members", "value": [{"value": user_ids[j]}]})
                jobs.append((servers[j % 2], "PATCH", f"/Groups/{group['id']}", ops))
        else:
            ops = patch_ops({"op": "Add", "path": "members", "value": value})
            jobs.append((servers[i % 4 // 2], "PATCH", f"/Groups/{group['id']}", ops))
    pool = Pool(token, threads=24)
    answers = pool.run(jobs)
    COUNTS["concurrent requests"] += pool.sent
    _no_server_errors(answers)
    assert set(_statuses(answers)) == {204}
    sql = "SELECT count(*) FROM group_members WHERE group_id = :g"
    assert _count(app, sql, g=group["id"]) == 120
    with Client(servers[1], token) as other:
        status, _, body = other.json("GET", f"/Groups/{group['id']}")
    assert {m["value"] for m in body["members"]} == set(user_ids)
    _servers_logged_no_errors(servers)


@ON_POSTGRESQL
def test_conditional_put_and_patch_from_both_servers_lose_no_update(app, live_servers):
    """Twelve writers each add one to a counter kept in ``title``: read it with its ETag,
    write the next value with If-Match, and start again on 412. Every acknowledged write
    must be one increment: the final value is the number of 200s."""
    servers = live_servers(2)
    token = default_org_token(app)
    setup = Client(servers[0], token)
    status, _, user = setup.json("POST", "/Users", user_body("counter@example.com", title="0"))
    assert status == 201
    setup.close()
    path = f"/Users/{user['id']}"
    increments_each = 5

    def writer(index: int):
        server = servers[index % 2]
        use_put = index % 3 == 0
        reads, writes = [], []

        def run(send):
            done = 0
            while done < increments_each:
                status, headers, body = send(server, "GET", path)
                reads.append((status, headers, body))
                current = json.loads(body)
                etag = headers["etag"]
                title = str(int(current["title"]) + 1)
                if use_put:
                    new = {k: v for k, v in current.items() if k not in ("id", "meta", "groups")}
                    status, _, body = send(
                        server, "PUT", path, {**new, "title": title}, {"If-Match": etag}
                    )
                else:
                    ops = patch_ops({"op": "replace", "path": "title", "value": title})
                    status, _, body = send(server, "PATCH", path, ops, {"If-Match": etag})
                writes.append((status, {}, body))
                if status == 200:
                    done += 1
                elif status != 412:
                    raise AssertionError((status, body[:300]))
            return reads, writes

        return run

    pool = Pool(token, threads=12)
    results = pool.run([writer(i) for i in range(12)])
    COUNTS["concurrent requests"] += pool.sent
    reads = [answer for result in results for answer in result[0]]
    writes = [status for result in results for status, _, _ in result[1]]
    _no_server_errors(reads)
    assert writes.count(200) == 12 * increments_each
    assert writes.count(412) > 0, "no write was ever stale: the test did not race"
    with Client(servers[1], token) as other:
        status, _, final = other.json("GET", path)
    assert final["title"] == str(12 * increments_each)
    assert final["meta"]["version"] == f'W/"{1 + 12 * increments_each}"'
    _servers_logged_no_errors(servers)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_many_threads_of_one_sqlite_server_never_fail_with_database_is_locked(app, live_servers):
    (server,) = live_servers(1, threads=16)
    token = default_org_token(app)
    setup = Client(server, token)
    status, _, group = setup.json("POST", "/Groups", {"displayName": "busy group"})
    assert status == 201
    setup.close()
    jobs = []
    for i in range(300):
        kind = i % 5
        if kind in (0, 1):
            jobs.append(
                (server, "POST", "/Users", user_body(f"busy{i}-{uuid.uuid4().hex[:6]}@x.io"))
            )
        elif kind == 2:
            query = urlencode({"filter": 'userName sw "busy"', "count": 5})
            jobs.append((server, "GET", f"/Users?{query}", None))
        elif kind == 3:
            ops = patch_ops({"op": "replace", "path": "displayName", "value": f"busy {i}"})
            jobs.append((server, "PATCH", f"/Groups/{group['id']}", ops))
        else:
            jobs.append((server, "POST", "/.search", {"filter": "active eq true", "count": 5}))
    pool = Pool(token, threads=24)
    answers = pool.run(jobs)
    COUNTS["concurrent requests"] += pool.sent
    _no_server_errors(answers)
    assert set(_statuses(answers)) <= {200, 201, 204}
    assert _count(app, "SELECT count(*) FROM users WHERE user_name_norm LIKE 'busy%'") == 120
    _servers_logged_no_errors([server])
