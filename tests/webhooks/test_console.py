"""Admin → Webhooks through the test client."""

from __future__ import annotations

import re

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import utcnow
from willow.webhooks import store

from .conftest import add_endpoint
from .conftest import add_events

SECRET = re.compile(r'value="(whsec_[A-Za-z0-9+/=]+)"')


def endpoint_ids(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(store.WebhookEndpoint.id)))


def test_add_endpoint_shows_its_secret_once(app, client, console, receiver):
    console.login()
    rv = client.post(
        "/admin/webhooks/",
        data={"url": receiver.url, "event_types": "user.*", "description": "Access service"},
    )
    assert rv.status_code == 303
    page = client.get(rv.headers["Location"])
    assert page.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(page.get_data(as_text=True)).group(1)
    again = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert secret not in again and "already shown once" in again
    (endpoint_id,) = endpoint_ids(app)
    with app.app_context():
        endpoint = db.session.get(store.WebhookEndpoint, endpoint_id)
        assert secret not in endpoint.secret_encrypted  # encrypted at rest
        assert store.signing_secrets(endpoint, utcnow()) == [secret]
        assert endpoint.event_types == "user.*"
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert receiver.url in listing and "Access service" in listing


def test_bad_urls_and_types_get_form_errors_not_a_500(app, client, console):
    console.login()
    for data, message in [
        ({"url": "ftp://example.com/x"}, "must start with https://"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "always refused"),
        ({"url": "https://example.com/x", "event_types": "user.creatd"}, "unknown event type"),
        ({"url": ""}, "This field is required"),
        ({"url": "https://" + "a" * 3000 + ".com"}, "longer than"),
    ]:
        rv = client.post("/admin/webhooks/", data=data)
        assert rv.status_code == 400, data
        assert message in rv.get_data(as_text=True), data
    assert endpoint_ids(app) == []


def test_public_only_refuses_a_loopback_target(app, client, console, receiver):
    app.config["WILLOW_WEBHOOK_PUBLIC_ONLY"] = True
    console.login()
    rv = client.post("/admin/webhooks/", data={"url": receiver.url})
    assert rv.status_code == 400
    assert "WILLOW_WEBHOOK_PUBLIC_ONLY" in rv.get_data(as_text=True)


def test_members_and_viewers_cannot_manage_webhooks(app, client, console, make_admin):
    console.login(make_admin("viewer@example.com", role="viewer"))
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.post("/admin/webhooks/", data={"url": "https://x.example"}).status_code == 403
    assert "Webhooks" not in client.get("/admin/directory/users").get_data(as_text=True)


def test_another_organizations_endpoint_is_not_found(app, client, console, receiver):
    from willow.console.organizations import create_organization

    with app.app_context():
        other = create_organization("other", "Other").id
        db.session.commit()
    endpoint_id, _ = add_endpoint(app, other, receiver.url)
    console.login()
    assert client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404
    assert client.post(f"/admin/webhooks/{endpoint_id}/delete").status_code == 404


def test_rotate_disable_enable_delete(app, org, client, console, receiver):
    endpoint_id, old = add_endpoint(app, org.id, receiver.url)
    console.login()
    rv = client.post(f"/admin/webhooks/{endpoint_id}/rotate")
    new = SECRET.search(client.get(rv.headers["Location"]).get_data(as_text=True)).group(1)
    assert new != old
    with app.app_context():
        endpoint = db.session.get(store.WebhookEndpoint, endpoint_id)
        assert store.signing_secrets(endpoint, utcnow()) == [new, old]

    client.post(f"/admin/webhooks/{endpoint_id}/disable")
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "disabled" in page and "Disabled by admin@example.com" in page
    client.post(f"/admin/webhooks/{endpoint_id}/enable")
    with app.app_context():
        assert db.session.get(store.WebhookEndpoint, endpoint_id).enabled
    client.post(f"/admin/webhooks/{endpoint_id}/delete")
    assert endpoint_ids(app) == []


def test_send_test_event_is_signed_and_recorded_outside_the_stream(
    app, org, client, console, receiver
):
    endpoint_id, secret = add_endpoint(app, org.id, receiver.url)
    console.login()
    rv = client.post(f"/admin/webhooks/{endpoint_id}/test", follow_redirects=True)
    assert "Test event delivered: 200" in rv.get_data(as_text=True)
    headers, body = receiver.received[0]
    Webhook(secret).verify(body, headers)
    assert b'"type":"webhook.test"' in body
    with app.app_context():
        endpoint = db.session.get(store.WebhookEndpoint, endpoint_id)
        assert endpoint.last_sequence == 0
        (attempt,) = store.recent_attempts(endpoint)
        assert (attempt.kind, attempt.sequence) == ("test", None)


def test_deliveries_list_filters_and_resend(app, org, client, console, receiver, worker, clock):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    ids = add_events(app, org.id, ["user.created", "group.member_added"])
    receiver.statuses = [500, 200]
    worker.deliver()
    clock.advance(seconds=5)
    worker.deliver()
    console.login()
    everything = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert everything.count("attempt-failed") == 1 and everything.count("attempt-ok") == 2
    failed = client.get(f"/admin/webhooks/{endpoint_id}?failed=y").get_data(as_text=True)
    assert failed.count("attempt-failed") == 1 and "attempt-ok" not in failed
    typed = client.get(f"/admin/webhooks/{endpoint_id}?type=group.member_added").get_data(
        as_text=True
    )
    assert typed.count("attempt-ok") == 1 and "user.created" not in typed.split("<tbody>")[1]
    assert client.get(f"/admin/webhooks/{endpoint_id}?type=nonsense").status_code == 200

    with app.app_context():
        last = store.recent_attempts(db.session.get(store.WebhookEndpoint, endpoint_id))[0]
    rv = client.post(
        f"/admin/webhooks/{endpoint_id}/attempts/{last.id}/resend", follow_redirects=True
    )
    assert f"Resend of {ids[1]} delivered" in rv.get_data(as_text=True)
    assert receiver.ids()[-1] == ids[1]


def test_log_entry_page_lists_the_requests_events_and_their_deliveries(
    app, org, client, console, receiver, worker
):
    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    request_id = "a" * 32
    with app.app_context():
        entry = ScimRequestLog(
            organization_id=org.id,
            request_id=request_id,
            method="PATCH",
            path="/scim/v2/Users/1",
            status_code=200,
            duration_ms=1.0,
        )
        db.session.add(entry)
        db.session.commit()
        entry_id = entry.id
    (event_id,) = add_events(app, org.id, ["user.deactivated"], request_id=request_id)
    worker.deliver()
    console.login()
    page = client.get(f"/monitor/scim-logs/{entry_id}").get_data(as_text=True)
    assert event_id in page and "200 delivered" in page and receiver.url in page
    event_page = client.get(f"/monitor/events/{event_id}").get_data(as_text=True)
    assert f"/monitor/scim-logs/{entry_id}" in event_page and "200 delivered" in event_page
    assert client.get("/monitor/events/evt_nope").status_code == 404


def test_webhook_forms_refuse_a_post_without_the_csrf_token(database_url, make_admin, receiver):
    from config import TestingConfig
    from willow import create_app

    csrf_app = create_app(
        TestingConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True}
    )
    client = csrf_app.test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    email = make_admin()
    client.post(
        "/admin/login",
        data={"email": email, "password": "correct horse battery staple", "csrf_token": token},
    )
    rv = client.post("/admin/webhooks/", data={"url": receiver.url})
    assert rv.status_code == 400
    page = client.get("/admin/webhooks/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    rv = client.post("/admin/webhooks/", data={"url": receiver.url, "csrf_token": token})
    assert rv.status_code == 303
    with csrf_app.app_context():
        db.engine.dispose()


def _webhook_routes(app) -> list[tuple[str, str]]:
    rv = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("webhooks."):
            continue
        values = dict.fromkeys(rule.arguments, 1)
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        rv.extend((method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return rv


def test_every_webhook_route_needs_a_signed_in_admin(app, client, console, make_admin):
    routes = _webhook_routes(app)
    assert len(routes) >= 10  # built from the URL map: a new route is covered too
    for method, url in routes:
        rv = client.open(url, method=method)
        assert rv.status_code == 302 and "/admin/login" in rv.headers["Location"], url
    console.login(make_admin("member@example.com", role="member"))
    for method, url in routes:
        assert client.open(url, method=method).status_code == 403, url


def test_a_slow_test_event_does_not_hold_scim_writes(app, org, client, console, receiver, scim):
    """The admin waits for the endpoint; the database's write lock does not."""
    import threading
    import time

    endpoint_id, _ = add_endpoint(app, org.id, receiver.url)
    receiver.delay = 2.0
    console.login()
    sending = threading.Thread(target=client.post, args=(f"/admin/webhooks/{endpoint_id}/test",))
    sending.start()
    while not receiver.received:
        time.sleep(0.01)
    started = time.monotonic()
    rv = scim.post(
        "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bo"}
    )
    took = time.monotonic() - started
    sending.join()
    assert rv.status_code == 201
    assert took < 1.5, f"the SCIM write waited {took:.2f} s for the test event"
