"""The worker against a local receiver that succeeds, fails, times out and recovers."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from willow.storage.extensions import db
from willow.webhooks import store

from .conftest import add_endpoint
from .conftest import add_events
from .conftest import endpoint_row


def attempts(app, endpoint_id):
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(store.WebhookAttempt)
                .where(store.WebhookAttempt.endpoint_id == endpoint_id)
                .order_by(store.WebhookAttempt.id)
            )
        )


def test_events_are_delivered_in_order_signed_with_the_body_as_stored(app, org, receiver, worker):
    endpoint_id, secret = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "group.member_added", "user.deactivated"])
    assert worker.deliver()
    assert receiver.ids() == ids
    for (headers, body), event_id in zip(receiver.received, ids, strict=True):
        Webhook(secret).verify(body, headers)
        assert json.loads(body)["id"] == event_id
        assert headers["content-type"] == "application/json"
    assert endpoint_row(app, endpoint_id).last_sequence == 3
    assert not worker.deliver()  # nothing more to send
    assert len(receiver.received) == 3


def test_an_endpoint_starts_with_the_events_after_its_creation(app, org, receiver, worker):
    add_events(app, org.id, ["user.created"])
    add_endpoint(app, org.id, receiver.url)
    later = add_events(app, org.id, ["user.updated"])
    worker.deliver()
    assert receiver.ids() == later


def test_a_failing_event_holds_the_later_ones_until_it_succeeds(app, org, receiver, worker, clock):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "user.updated", "user.deleted"])
    receiver.statuses = [500, 503, 200]
    worker.deliver()
    assert receiver.ids() == ids[:1]  # the later events wait
    row = endpoint_row(app, endpoint_id)
    assert (row.failures, row.last_sequence) == (1, 0)
    assert (row.next_attempt_at - clock.now).total_seconds() == 5

    worker.deliver()  # not due yet: nothing is sent
    assert len(receiver.received) == 1
    clock.advance(seconds=5)
    worker.deliver()
    assert receiver.ids() == ids[:1] * 2
    assert (endpoint_row(app, endpoint_id).next_attempt_at - clock.now).total_seconds() == 300
    clock.advance(minutes=5)
    worker.deliver()
    assert receiver.ids() == [ids[0], ids[0], ids[0], ids[1], ids[2]]
    got = attempts(app, endpoint_id)
    assert [(a.attempt, a.status_code, a.succeeded) for a in got] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
        (1, 200, True),
        (1, 200, True),
    ]
    assert endpoint_row(app, endpoint_id).failures == 0


def test_a_timeout_is_a_failed_attempt_and_the_endpoint_recovers(app, org, receiver, worker, clock):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "user.updated"])
    receiver.delay = 1.5  # the test worker waits 1 s (15 s in production)
    worker.deliver()
    first = attempts(app, endpoint_id)
    assert [(a.status_code, a.succeeded) for a in first] == [(None, False)]
    assert "no answer within" in first[0].error
    receiver.delay = 0
    clock.advance(seconds=5)
    worker.deliver()
    assert receiver.ids()[-2:] == ids
    assert endpoint_row(app, endpoint_id).last_sequence == 2


def test_after_the_whole_schedule_the_endpoint_is_disabled_and_its_events_kept(
    app, org, receiver, worker, clock, client, console
):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "user.updated"])
    receiver.statuses = [500]
    for _ in range(8):
        worker.deliver()
        clock.advance(hours=11)
    assert receiver.ids() == [ids[0]] * 8
    row = endpoint_row(app, endpoint_id)
    assert not row.enabled and row.needs_attention
    assert "8 attempts in a row failed" in row.disabled_reason
    assert attempts(app, endpoint_id)[-1].next_attempt_at is None

    # Every admin page says so, until the endpoint's page is opened.
    console.login()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "was disabled" in page and receiver.url in page
    client.get(f"/admin/webhooks/{endpoint_id}")
    assert "was disabled" not in client.get("/admin/tokens").get_data(as_text=True)

    # Enabled again, it resumes at the held event: nothing was skipped.
    receiver.statuses = [200]
    with app.app_context():
        store.enable(db.session.get(store.WebhookEndpoint, endpoint_id))
        db.session.commit()
    worker.deliver()
    assert receiver.ids()[-2:] == ids


def test_410_gone_disables_at_once(app, org, receiver, worker):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    add_events(app, org.id, ["user.created", "user.updated"])
    receiver.statuses = [410]
    worker.deliver()
    row = endpoint_row(app, endpoint_id)
    assert not row.enabled and "410" in row.disabled_reason
    assert len(receiver.received) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(app, org, receiver, worker):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    add_events(app, org.id, ["user.created"])
    receiver.statuses = [302]
    worker.deliver()
    assert [(a.status_code, a.succeeded) for a in attempts(app, endpoint_id)] == [(302, False)]
    assert len(receiver.received) == 1


def test_only_subscribed_types_are_sent_and_the_cursor_passes_the_others(
    app, org, receiver, worker
):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url, types="user.deactivated,group.*")
    ids = add_events(
        app, org.id, ["user.created", "user.deactivated", "group.member_added", "access.changed"]
    )
    worker.deliver()
    assert receiver.ids() == ids[1:3]
    assert endpoint_row(app, endpoint_id).last_sequence == 4


def test_the_response_excerpt_is_kept_to_2_kb(app, org, receiver, worker):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    add_events(app, org.id, ["user.created"])
    receiver.body = b"x" * 10_000
    worker.deliver()
    (attempt,) = attempts(app, endpoint_id)
    assert attempt.succeeded and len(attempt.response_excerpt) == 2048


def test_rotated_secret_both_signatures_during_the_overlap(app, org, receiver, worker):
    endpoint_id, old = add_endpoint(app, org.id, receiver.url)
    with app.app_context():
        from datetime import timedelta

        new = store.rotate_secret(
            db.session.get(store.WebhookEndpoint, endpoint_id), timedelta(hours=1)
        )
        db.session.commit()
    add_events(app, org.id, ["user.created"])
    worker.deliver()
    headers, body = receiver.received[0]
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_events_of_another_organization_are_not_sent(app, org, receiver, worker):
    from willow.console.organizations import create_organization

    with app.app_context():
        other = create_organization("other", "Other").id
        db.session.commit()
    add_endpoint(app, org.id, receiver.url)
    add_events(app, other, ["user.created"])
    mine = add_events(app, org.id, ["user.created"])
    worker.deliver()
    assert receiver.ids() == mine


def test_a_scim_write_wakes_one_delivery_thread_at_once(app, org, receiver, scim):
    from willow.webhooks.worker import Worker

    add_endpoint(app, org.id, receiver.url)
    worker = app.extensions["willow_webhooks"] = Worker(app, threads=2, poll_interval=30)
    worker.start()
    try:
        time.sleep(0.2)  # the first rounds find nothing, then wait 30 s unless woken
        rv = scim.post(
            "/Users",
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "wake"},
        )
        assert rv.status_code == 201
        deadline = time.monotonic() + 10
        while not receiver.ids() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(receiver.ids()) == 1
    finally:
        worker.stop(timeout=5)
        del app.extensions["willow_webhooks"]


def test_without_an_enabled_endpoint_a_commit_wakes_no_thread(app, org):
    from willow.webhooks.worker import Worker

    worker = Worker(app, threads=1, poll_interval=30)
    with app.app_context():
        assert worker._due_endpoints("w/0") == []
    assert worker.has_endpoints is False
    before = worker._woken
    worker.events_committed()
    assert worker._woken == before


def test_attempts_older_than_the_event_retention_are_pruned(app, org, receiver, worker, clock):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    add_events(app, org.id, ["user.created"])
    worker.deliver()
    clock.advance(days=89)
    with app.app_context():
        assert worker.prune() == 0
    clock.advance(days=2)
    add_events(app, org.id, ["user.updated"])
    worker.deliver()
    with app.app_context():
        assert worker.prune() == 1
    assert [a.event_type for a in attempts(app, endpoint_id)] == ["user.updated"]


def test_an_endpoint_deleted_during_a_delivery_is_not_an_error(app, org, receiver, worker):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    add_events(app, org.id, ["user.created"])

    original = receiver.statuses

    def delete_first():
        with app.app_context():
            store.delete_endpoint(db.session.get(store.WebhookEndpoint, endpoint_id))
            db.session.commit()

    # The receiver deletes the endpoint while answering its first delivery.
    import threading

    receiver.delay = 0.3
    threading.Timer(0.1, delete_first).start()
    worker.deliver()
    assert original == [200] and len(receiver.received) == 1
    assert attempts(app, endpoint_id) == []


def test_public_only_refuses_a_private_address_at_delivery_time(app, org, receiver, clock):
    """The check is repeated at every delivery: a host whose DNS answer changed to a
    private address after the endpoint was saved is not reached."""
    from willow.webhooks.worker import Worker

    endpoint_id, _ = add_endpoint(app, org.id, "http://hooks.example/in")
    app.config["WILLOW_WEBHOOK_PUBLIC_ONLY"] = True
    app.config["WILLOW_WEBHOOK_ADDRESS_RESOLVER"] = lambda host: ["127.0.0.1"]
    worker = Worker(app, threads=1, clock=clock, timeout=1.0)
    add_events(app, org.id, ["user.created"])
    with app.app_context():
        worker.run_once("test-worker")
    (attempt,) = attempts(app, endpoint_id)
    assert attempt.status_code is None and not attempt.succeeded
    assert "WILLOW_WEBHOOK_PUBLIC_ONLY" in attempt.error
    assert receiver.received == []
