from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Event
from willow.storage.models import utcnow
from willow.webhooks import store

from .conftest import add_endpoint
from .conftest import add_events


def test_add_prints_the_secret_alone_on_the_last_line(app, runner, receiver):
    rv = runner.invoke(
        args=[
            "webhook",
            "add",
            receiver.url,
            "--events",
            "user.*,access.changed",
            "--description",
            "Access service",
        ]
    )
    assert rv.exit_code == 0, rv.output
    secret = rv.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and " " not in secret
    with app.app_context():
        (endpoint,) = store.list_endpoints()
        assert store.signing_secrets(endpoint, utcnow()) == [secret]
        assert endpoint.event_types == "access.changed,user.*"
        assert endpoint.created_by == "command line"


def test_add_refuses_bad_input_with_a_message(app, runner):
    for args, message in [
        (["https://example.com", "--events", "nope"], "unknown event type"),
        (["http://169.254.169.254/"], "always refused"),
        (["https://example.com", "--org", "missing"], "no organization"),
    ]:
        rv = runner.invoke(args=["webhook", "add", *args])
        assert rv.exit_code != 0 and message in rv.output, rv.output
        assert "Traceback" not in rv.output


def test_list_and_disable(app, org, runner, receiver):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    listed = runner.invoke(args=["webhook", "list"]).stdout
    assert receiver.url in listed and "enabled" in listed
    rv = runner.invoke(args=["webhook", "disable", str(endpoint_id)])
    assert rv.exit_code == 0
    assert "disabled" in runner.invoke(args=["webhook", "list"]).stdout
    assert runner.invoke(args=["webhook", "disable", "999"]).exit_code != 0


def test_resend_since_rewinds_the_cursor_and_delivers_in_order(app, org, runner, receiver, worker):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "user.updated", "user.deleted"])
    worker.deliver()
    with app.app_context():
        db.session.execute(
            sa.update(Event)
            .where(Event.event_id == ids[0])
            .values(occurred_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
    since = (utcnow() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rv = runner.invoke(args=["webhook", "resend", str(endpoint_id), "--since", since])
    assert rv.exit_code == 0, rv.output
    worker.deliver()
    assert receiver.ids() == ids + ids[1:]
    bad = runner.invoke(args=["webhook", "resend", str(endpoint_id), "--since", "yesterday"])
    assert bad.exit_code != 0 and "not a time" in bad.output
