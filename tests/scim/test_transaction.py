"""The request's connection (scim.transaction): each server thread keeps its connection
between requests, on a SQLite file and on PostgreSQL (pinged there after it was idle)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from willow.scim import transaction
from willow.storage.extensions import db


def _held(app):
    with app.app_context():
        return transaction._held_connections(db.engine)  # noqa: SLF001


def _user(name: str) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}


def test_a_thread_keeps_its_connection_from_one_scim_request_to_the_next(app, scim):
    assert scim.get("/ServiceProviderConfig").status_code == 200
    held = _held(app)
    first = held.idle[threading.get_ident()]
    assert scim.get("/Users").status_code == 200
    assert held.idle[threading.get_ident()] is first
    assert not first.closed and not first.in_transaction()


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
def test_a_kept_postgresql_connection_the_server_dropped_while_idle_is_replaced(
    app, scim, monkeypatch
):
    """A database restart (or an idle timeout) ends the kept connection while nobody uses
    it: past the idle time it is pinged, found dead, and the request gets a new one."""

    assert scim.get("/Users").status_code == 200
    kept = _held(app).idle[threading.get_ident()]
    pid = kept.connection.driver_connection.info.backend_pid
    with app.app_context(), db.engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    monkeypatch.setattr(transaction, "PING_AFTER_IDLE_S", 0.0)
    assert scim.get("/Users").status_code == 200
    replacement = _held(app).idle[threading.get_ident()]
    assert replacement is not kept
    assert replacement.connection.driver_connection.info.backend_pid != pid


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_postgresql_group_read_keeps_the_connections_prepared_statements(app, scim):
    """The session's reads end with COMMIT, not ROLLBACK, which would make psycopg forget
    the connection's prepared statements (and parse every read again)."""
    created = scim.post(
        "/Groups",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"},
    )
    path = f"/Groups/{created.get_json()['id']}"
    for _ in range(8):  # psycopg prepares a statement at its fifth run
        assert scim.get(path).status_code == 200
    with app.app_context():
        prepared = [
            record.dbapi_connection._prepared._names  # noqa: SLF001 - psycopg's cache
            for record in list(db.engine.pool._pool.queue)  # noqa: SLF001
        ]
    assert any(names for names in prepared)


def test_a_kept_connection_is_closed_for_good_with_its_engine(app, scim):
    """Kept connections never go back to a pool: one in autocommit (PostgreSQL) would
    commit a later write statement by statement, and a disposed pool is never closed."""
    assert scim.get("/Users").status_code == 200
    kept = _held(app).idle[threading.get_ident()]
    driver = kept.connection.driver_connection
    with app.app_context():
        db.engine.dispose()
    assert kept.closed
    with pytest.raises(Exception):  # noqa: B017 - each driver's own "closed" error
        driver.execute("SELECT 1")


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
