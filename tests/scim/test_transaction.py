"""The request's connection (scim.transaction): on a SQLite file each server thread keeps
its connection between requests; on PostgreSQL every request takes one from the pool."""

from __future__ import annotations

import threading

import pytest

from willow.extensions import db
from willow.scim import transaction


def _held(app):
    with app.app_context():
        return transaction._held_connections(db.engine)  # noqa: SLF001


def _user(name: str) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_thread_keeps_its_sqlite_connection_from_one_scim_request_to_the_next(app, scim):
    assert scim.get("/ServiceProviderConfig").status_code == 200
    held = _held(app)
    first = held.idle[threading.get_ident()]
    assert scim.get("/Users").status_code == 200
    assert held.idle[threading.get_ident()] is first
    assert not first.closed and not first.in_transaction()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_each_thread_keeps_a_connection_of_its_own(app, scim):
    assert scim.get("/Users").status_code == 200
    other = threading.Thread(target=lambda: scim.get("/Users"))
    other.start()
    other.join()
    connections = list(_held(app).idle.values())
    assert len(connections) == 2
    assert connections[0].connection.driver_connection is not (
        connections[1].connection.driver_connection
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_refused_write_leaves_the_kept_connection_without_a_transaction(app, scim):
    assert scim.post("/Users", _user("ada@example.com")).status_code == 201
    assert scim.post("/Users", _user("ada@example.com")).status_code == 409
    kept = _held(app).idle[threading.get_ident()]
    assert not kept.in_transaction()
    # The next write takes the lock again, and what it commits is read back.
    created = scim.post("/Users", _user("grace@example.com"))
    assert created.status_code == 201
    assert scim.get(f"/Users/{created.get_json()['id']}").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_disposing_of_the_engine_closes_the_kept_connections(app, scim):
    assert scim.get("/Users").status_code == 200
    held = _held(app)
    kept = held.idle[threading.get_ident()]
    with app.app_context():
        db.engine.dispose()
    assert kept.closed and held.idle == {}
    # A request after the dispose gets a connection from the new pool and gives it back
    # closed: the disposed holder keeps nothing.
    assert scim.get("/Users").status_code == 200
    assert held.idle == {}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_requests_take_their_connection_from_the_pool(app, scim):
    assert scim.get("/Users").status_code == 200
    assert _held(app) is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_write_refused_before_its_transaction_leaves_the_writers_queue_free(app, scim):
    # Refused before any transaction began; the token's first use is still recorded after
    # the request, in a write of its own, which must not take the queue either.
    assert scim.post("/Users", "{not json").status_code == 400
    answers: list[int] = []
    writer = threading.Thread(
        target=lambda: answers.append(scim.post("/Users", _user("ada@example.com")).status_code)
    )
    writer.start()
    writer.join(timeout=20)
    assert answers == [201]
    queue = app.extensions["willow_sqlite_writers"]
    assert queue._lock.acquire(timeout=1)  # noqa: SLF001 - free once the requests ended
    queue._lock.release()  # noqa: SLF001


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_write_holds_the_writers_queue_only_while_its_transaction_is_open(app, scim):
    queue = app.extensions["willow_sqlite_writers"]
    seen: list[bool] = []
    from willow.scim.store import users

    create = users.create_user

    def spy(conn, organization_id, body):
        seen.append(queue._lock.locked())  # noqa: SLF001 - the transaction is open here
        return create(conn, organization_id, body)

    users.create_user = spy
    try:
        assert scim.post("/Users", _user("grace@example.com")).status_code == 201
    finally:
        users.create_user = create
    assert seen == [True]
    assert not queue._lock.locked()  # noqa: SLF001
