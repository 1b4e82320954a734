"""Abuse limits on /scim: failed bearer authentications per client address, and the
optional per-token request rate. Both answer 429 with Retry-After and a SCIM Error."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import TestingConfig
from willow import create_app
from willow.storage import models
from willow.storage.extensions import db
from willow.storage.models import RateLimitCounter

PROBE = "/scim/v2/ServiceProviderConfig"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = models.utcnow().replace(second=0, microsecond=0)

        def advance(self, **kwargs) -> None:
            self.now += timedelta(**kwargs)

    c = Clock()
    monkeypatch.setattr(models, "utcnow", lambda: c.now)
    return c


def get(client, token: str | None, address: str = "198.51.100.7"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(PROBE, headers=headers, environ_base={"REMOTE_ADDR": address})


def fail(client, times: int, address: str = "198.51.100.7") -> list[int]:
    return [get(client, "wsk_not-a-token", address).status_code for _ in range(times)]


def assert_429(rv) -> None:
    assert rv.status_code == 429
    assert rv.mimetype == "application/scim+json"
    body = rv.get_json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "429"
    assert int(rv.headers["Retry-After"]) >= 1


def test_failed_authentications_past_the_limit_get_429_with_retry_after(app, client, clock):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 5
    assert fail(client, 5) == [401] * 5
    clock.advance(seconds=20)
    rv = get(client, "wsk_not-a-token")
    assert_429(rv)
    assert rv.headers["Retry-After"] == "40"
    assert "WWW-Authenticate" not in rv.headers
    # Sending no token at all is a failed authentication too.
    assert_429(get(client, None))


def test_a_valid_token_is_never_locked_out_by_failures_from_its_address(
    app, client, token, clock
):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 5
    fail(client, 8)
    assert get(client, "wsk_not-a-token").status_code == 429
    for _ in range(3):
        assert get(client, token).status_code == 200
    assert get(client, "wsk_not-a-token").status_code == 429


def test_the_limit_is_per_client_address(app, client, clock):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 3
    fail(client, 4, "198.51.100.7")
    assert get(client, "wsk_x", "198.51.100.7").status_code == 429
    assert get(client, "wsk_x", "203.0.113.9").status_code == 401


def test_the_block_ends_with_the_window(app, client, clock):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 3
    fail(client, 4)
    clock.advance(seconds=59)
    assert get(client, "wsk_x").status_code == 429
    clock.advance(seconds=1)
    assert fail(client, 3) == [401] * 3
    assert get(client, "wsk_x").status_code == 429


def test_revoked_and_expired_tokens_count_as_failures(app, client, make_token, clock):
    from willow.storage.models import ApiToken

    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 2
    revoked = make_token(name="old")
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(revoked_at=clock.now))
        db.session.commit()
    assert [get(client, revoked).status_code for _ in range(3)] == [401, 401, 429]


def test_zero_turns_the_failure_limit_off(app, client, clock):
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 0
    assert set(fail(client, 40)) == {401}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitCounter)) == 0


def test_the_default_failure_limit_is_on(app):
    assert app.config["WILLOW_AUTH_FAILURE_LIMIT"] == TestingConfig.WILLOW_AUTH_FAILURE_LIMIT
    assert TestingConfig.WILLOW_AUTH_FAILURE_LIMIT > 0


def test_failures_are_counted_in_the_database_across_app_servers(
    app, client, database_url, clock
):
    """Two app instances on one database share the counter (as two processes would)."""
    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 4
    other = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    other.config["WILLOW_AUTH_FAILURE_LIMIT"] = 4
    other_client = other.test_client()
    try:
        assert fail(client, 2) + fail(other_client, 2) == [401] * 4
        assert get(client, "wsk_x").status_code == 429
        assert get(other_client, "wsk_x").status_code == 429
    finally:
        other.extensions["willow_request_log"].stop()
        with other.app_context():
            db.engine.dispose()


def test_old_counters_are_deleted_as_new_failures_are_counted(app, client, clock):
    fail(client, 1, "198.51.100.1")
    clock.advance(minutes=11)
    fail(client, 1, "198.51.100.2")
    with app.app_context():
        keys = db.session.scalars(sa.select(RateLimitCounter.key)).all()
    assert keys == ["auth-failure:198.51.100.2"]


def test_the_429_is_in_the_request_log(app, client, clock):
    from willow.storage.models import ScimRequestLog

    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 1
    fail(client, 2)
    app.extensions["willow_request_log"].flush()
    with app.app_context():
        codes = db.session.scalars(
            sa.select(ScimRequestLog.status_code).order_by(ScimRequestLog.id)
        ).all()
    assert codes == [401, 429]


# -- per-token request rate ------------------------------------------------------------


def test_per_token_rate_is_off_by_default(app, client, token, clock):
    assert app.config["WILLOW_TOKEN_RATE_LIMIT"] == 0
    assert {get(client, token).status_code for _ in range(70)} == {200}


def test_per_token_rate_past_the_limit_gets_429_until_the_window_ends(
    app, client, make_token, clock
):
    app.config["WILLOW_TOKEN_RATE_LIMIT"] = 3
    busy, quiet = make_token(name="busy"), make_token(name="quiet")
    assert [get(client, busy).status_code for _ in range(3)] == [200] * 3
    clock.advance(seconds=45)
    rv = get(client, busy)
    assert_429(rv)
    assert rv.headers["Retry-After"] == "15"
    assert get(client, quiet).status_code == 200
    clock.advance(seconds=15)
    assert get(client, busy).status_code == 200


def test_concurrent_failures_are_all_counted(app, clock):
    """Racing failures from one address: exactly the limit get 401, every other one 429
    (one atomic upsert per failure: no count is lost)."""
    from concurrent.futures import ThreadPoolExecutor

    app.config["WILLOW_AUTH_FAILURE_LIMIT"] = 10

    def attempt(_):
        return get(app.test_client(), "wsk_not-a-token").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(attempt, range(30)))
    assert sorted(codes) == [401] * 10 + [429] * 20


def test_the_token_rate_is_shared_by_app_servers_on_postgresql_and_per_process_on_sqlite(
    app, client, database_url, backend, token, clock
):
    """Two app instances on one database (as two processes would be): on PostgreSQL they
    count one token's requests together; a SQLite file is served by one process, which
    counts in memory."""
    app.config["WILLOW_TOKEN_RATE_LIMIT"] = 4
    other = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    other.config["WILLOW_TOKEN_RATE_LIMIT"] = 4
    other_client = other.test_client()
    try:
        codes = [get(c, token).status_code for c in (client, other_client) * 3]
        if backend == "postgresql":
            assert codes == [200] * 4 + [429] * 2
            clock.advance(minutes=1)
            assert get(other_client, token).status_code == 200
        else:
            assert codes == [200] * 6
    finally:
        other.extensions["willow_request_log"].stop()
        with other.app_context():
            db.engine.dispose()


def test_concurrent_requests_of_one_token_are_all_counted(app, token, clock):
    """Racing requests of one rate-limited token: exactly the limit are served, every
    other one is 429 (one atomic count per request, in the database or in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    app.config["WILLOW_TOKEN_RATE_LIMIT"] = 10

    def attempt(_):
        return get(app.test_client(), token).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(attempt, range(30)))
    assert sorted(codes) == [200] * 10 + [429] * 20
