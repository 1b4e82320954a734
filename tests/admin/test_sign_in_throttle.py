"""Console sign-in throttling: backoff per client address and per address and email, no
lock an outsider can hold, nothing revealed about which accounts exist."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import TestingConfig
from tests.conftest import ADMIN_PASSWORD
from willow import create_app
from willow.console import auth as console_auth
from willow.console.auth import SIGN_IN_FAILED
from willow.console.sign_in_throttle import FORGET_AFTER
from willow.console.sign_in_throttle import backoff_seconds
from willow.console.sign_in_throttle import failures_after_one_more
from willow.console.sign_in_throttle import seconds_to_wait
from willow.storage.extensions import db
from willow.storage.models import SignInThrottle

ATTACKER = "203.0.113.66"
ADMIN_DESK = "198.51.100.10"
#: TestingConfig keeps the production defaults.
ACCOUNT_FREE = TestingConfig.WILLOW_SIGN_IN_ACCOUNT_FAILURES
ADDRESS_FREE = TestingConfig.WILLOW_SIGN_IN_ADDRESS_FAILURES
CAP = TestingConfig.WILLOW_SIGN_IN_MAX_DELAY_SECONDS
T0 = datetime(2026, 12, 1, 12, 0, 0)


def sign_in(client, email: str, password: str = ADMIN_PASSWORD, address: str = ATTACKER):
    return client.post(
        "/admin/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail(client, email: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        assert sign_in(client, email, "wrong", address).status_code == 401


def throttle_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SignInThrottle))


# -- the rules, without HTTP --------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "free", "cap", "expected"),
    [
        (0, 5, 900, 0),
        (5, 5, 900, 0),
        (6, 5, 900, 1),
        (7, 5, 900, 2),
        (10, 5, 900, 16),
        (15, 5, 900, 512),
        (16, 5, 900, 900),
        (10**6, 5, 900, 900),
        (1, 0, 900, 1),
        (50, 5, 0, 0),
    ],
)
def test_backoff_is_free_then_doubles_up_to_the_cap(failures, free, cap, expected):
    assert backoff_seconds(failures, free, cap) == expected


def test_no_wait_within_the_allowance_even_if_the_last_failure_looks_later_than_now():
    """Another server's clock may run a little ahead; within the allowance nobody waits."""
    assert seconds_to_wait(3, T0 + timedelta(seconds=5), 5, 900, T0) == 0


def test_wait_counts_down_from_the_last_failure():
    assert seconds_to_wait(8, T0, 5, 900, T0) == 4
    assert seconds_to_wait(8, T0, 5, 900, T0 + timedelta(seconds=2.5)) == 2
    assert seconds_to_wait(8, T0, 5, 900, T0 + timedelta(seconds=4)) == 0
    assert seconds_to_wait(8, None, 5, 900, T0) == 0


def test_a_counter_forgets_its_failures_after_a_quiet_day():
    later = T0 + FORGET_AFTER
    # A cap longer than the day shows the wait being dropped, not run out.
    cap = 2 * int(FORGET_AFTER.total_seconds())
    assert seconds_to_wait(100, T0, 5, cap, later - timedelta(seconds=1)) > 0
    assert seconds_to_wait(100, T0, 5, cap, later) == 0
    assert failures_after_one_more(100, T0, later - timedelta(seconds=1)) == 101
    assert failures_after_one_more(100, T0, later) == 1
    assert failures_after_one_more(0, None, T0) == 1


# -- through the sign-in form -------------------------------------------------------------


def test_first_wrong_password_says_only_wrong_email_or_password(client, make_admin):
    rv = sign_in(client, make_admin(), "wrong")
    assert rv.status_code == 401
    html = rv.get_data(as_text=True)
    assert SIGN_IN_FAILED == "Wrong email or password."
    assert SIGN_IN_FAILED in html
    assert "too many" not in html.lower()


def test_failures_past_the_allowance_make_that_address_wait_even_for_the_right_password(
    client, make_admin, clock
):
    email = make_admin()
    fail(client, email, ACCOUNT_FREE + 1)
    rv = sign_in(client, email)
    assert rv.status_code == 429
    assert rv.headers["Retry-After"] == "1"
    assert (
        "Too many sign-in attempts from your address; try again in 1 second."
        in rv.get_data(as_text=True)
    )
    with client.session_transaction() as sess:
        assert "sid" not in sess
    clock.advance(seconds=1)
    assert sign_in(client, email).status_code == 302


def test_backoff_doubles_with_each_failure_up_to_the_cap(client, make_admin, clock):
    email = make_admin()
    fail(client, email, ACCOUNT_FREE)
    waits = []
    for _ in range(12):
        assert sign_in(client, email, "wrong").status_code == 401
        rv = sign_in(client, email, "wrong")
        assert rv.status_code == 429
        waits.append(int(rv.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, CAP, CAP]


def test_right_password_resets_the_backoff_of_that_address_and_account(
    client, make_admin, clock
):
    email = make_admin()
    fail(client, email, ACCOUNT_FREE + 1)
    clock.advance(seconds=1)
    fail(client, email, 1)
    clock.advance(seconds=2)
    assert sign_in(client, email).status_code == 302
    client.post("/admin/logout")
    # The full allowance again, not the next step of the old backoff.
    fail(client, email, ACCOUNT_FREE + 1)
    assert sign_in(client, email, "wrong").status_code == 429


def test_an_outsider_cannot_lock_the_admin_out(client, make_admin, clock):
    """The right password from another address works while the attacker's is throttled."""
    admin = make_admin("break-glass@example.com")
    for _ in range(40):
        sign_in(client, admin, "wrong")
        clock.advance(seconds=60)
    assert sign_in(client, admin, "wrong").status_code == 429
    assert sign_in(client, admin).status_code == 429
    assert sign_in(client, admin, address=ADMIN_DESK).status_code == 302


def test_password_spraying_from_one_address_is_bounded_across_accounts(client, make_admin):
    accounts = [make_admin() for _ in range(ADDRESS_FREE + 2)]
    for email in accounts[: ADDRESS_FREE + 1]:
        fail(client, email, 1)
    # A fresh account, never tried before: the address itself must wait.
    rv = sign_in(client, accounts[-1])
    assert rv.status_code == 429
    assert rv.headers["Retry-After"] == "1"
    # Another address is not held back by it.
    assert sign_in(client, accounts[-1], address=ADMIN_DESK).status_code == 302


def test_a_right_password_does_not_wash_away_the_addresses_failures(client, make_admin):
    """Whoever knows one password must not reset the spraying bound with it."""
    known = make_admin()
    for _ in range(ADDRESS_FREE):
        fail(client, make_admin(), 1)
    assert sign_in(client, known).status_code == 302
    client.post("/admin/logout")
    fail(client, make_admin(), 1)
    assert sign_in(client, make_admin(), "wrong").status_code == 429


def test_a_burst_of_parallel_guesses_gets_no_more_than_the_allowance(app, make_admin):
    """Each attempt sees the failures of those before it, however many arrive at once."""
    email = make_admin()
    start = threading.Barrier(12)

    def guess() -> int:
        client = app.test_client()
        start.wait()
        return sign_in(client, email, "wrong").status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(lambda _: guess(), range(12)))
    assert statuses == [401] * (ACCOUNT_FREE + 1) + [429] * (12 - ACCOUNT_FREE - 1)


def test_throttling_does_not_reveal_whether_the_account_exists(client, make_admin):
    existing = make_admin("real@example.com")
    answers = []
    for email, address in ((existing, "192.0.2.1"), ("ghost@example.com", "192.0.2.2")):
        statuses = [sign_in(client, email, "wrong", address).status_code for _ in range(8)]
        rv = sign_in(client, email, "wrong", address)
        answers.append((statuses, rv.status_code, rv.headers.get("Retry-After")))
    assert answers[0] == answers[1]
    assert answers[0][0] == [401] * (ACCOUNT_FREE + 1) + [429] * (8 - ACCOUNT_FREE - 1)


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "unknown"])
def test_a_throttled_attempt_checks_no_password(client, make_admin, monkeypatch, exists):
    email = make_admin() if exists else "nobody@example.com"
    fail(client, email, ACCOUNT_FREE + 1)
    calls = []
    real = console_auth.check_password_hash
    monkeypatch.setattr(console_auth, "check_password_hash", lambda *a: calls.append(a) or real(*a))
    assert sign_in(client, email).status_code == 429
    assert calls == []


def test_failures_are_forgotten_after_a_quiet_day(app, client, make_admin, clock):
    email = make_admin()
    fail(client, email, ACCOUNT_FREE + 1)
    assert sign_in(client, email, "wrong").status_code == 429
    clock.advance(seconds=FORGET_AFTER.total_seconds())
    fail(client, make_admin(), 1, address=ADMIN_DESK)  # sweeps the forgotten rows
    assert throttle_rows(app) == 2
    fail(client, email, ACCOUNT_FREE + 1)


def test_refused_and_successful_attempts_leave_no_rows_without_failures(
    app, client, make_admin, clock
):
    # A frozen clock: on a slow machine the real one outran the one-second backoff.
    email = make_admin()
    assert sign_in(client, email, address=ADMIN_DESK).status_code == 302
    assert throttle_rows(app) == 0
    fail(client, "victim@example.com", ACCOUNT_FREE + 1)
    assert throttle_rows(app) == 2
    for _ in range(5):
        assert sign_in(client, "victim@example.com").status_code == 429
    assert throttle_rows(app) == 2


def test_counters_are_shared_between_app_servers(app, client, make_admin, database_url):
    """Several app servers on one database: failures on one throttle the others."""
    email = make_admin()
    fail(client, email, ACCOUNT_FREE + 1)
    other = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url})
    try:
        assert sign_in(other.test_client(), email).status_code == 429
    finally:
        other.extensions["willow_request_log"].stop()
        with other.app_context():
            db.engine.dispose()


def test_the_sign_in_page_is_not_throttled(client, make_admin):
    email = make_admin()
    fail(client, email, ACCOUNT_FREE + 1)
    assert sign_in(client, email).status_code == 429
    assert client.get("/admin/login", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
