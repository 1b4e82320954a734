"""Host names the server answers to (``willow.server.hosts``): absolute URLs never follow a
``Host`` header the client chose."""

from __future__ import annotations

import json
import time

import pytest
from flask import request

from config import TestingConfig
from willow import create_app
from willow.server.hosts import LOCAL_NAMES
from willow.server.hosts import allowed_hosts
from willow.server.hosts import check_host
from willow.server.hosts import host_allowed
from willow.server.hosts import host_name
from willow.storage.extensions import db

SCIM_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada"}


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("willow.example.com", "willow.example.com"),
        ("Willow.Example.COM:8443", "willow.example.com"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("", None),
        (":8000", None),
        ("host:port", None),
        ("[::1", None),
        ("a b", None),
        ("evil.example/path", None),
        ("user@evil.example", None),
        ("willow.example.com.:443", "willow.example.com"),
        ("under_score.example", None),
        ("a" * 64 + ".example", None),
        ("[zz::1]:8000", None),
        ("localhost:0", None),
        ("localhost:65536", None),
        ("localhost:", None),
    ],
)
def test_the_name_of_a_host_header(host, name):
    assert host_name(host) == name


@pytest.mark.parametrize(
    ("setting", "public_url", "listen", "allowed"),
    [
        (None, None, "127.0.0.1", LOCAL_NAMES),
        (None, None, "0.0.0.0", LOCAL_NAMES),
        (None, None, "::", LOCAL_NAMES),
        (None, None, "10.0.0.5", (*LOCAL_NAMES, "10.0.0.5")),
        (None, "https://willow.example.com", "0.0.0.0", None),
        ("willow.example.com, .corp.example", None, "::", ("willow.example.com", ".corp.example")),
        ("Willow.Example.com:443,[::1]", "https://x.example", None, ("willow.example.com", "::1")),
        ("*", None, "127.0.0.1", None),
    ],
)
def test_which_hosts_are_allowed(setting, public_url, listen, allowed):
    assert allowed_hosts(setting, public_url, listen) == allowed


@pytest.mark.parametrize(
    ("host", "allowed", "served"),
    [
        ("localhost:8000", LOCAL_NAMES, True),
        ("127.0.0.1:8000", LOCAL_NAMES, True),
        ("[::1]:8000", LOCAL_NAMES, True),
        ("evil.example", LOCAL_NAMES, False),
        ("localhost.evil.example", LOCAL_NAMES, False),
        ("willow.example.com", ("willow.example.com",), True),
        ("WILLOW.example.com:443", ("willow.example.com",), True),
        ("a.willow.example.com", ("willow.example.com",), False),
        ("a.corp.example", (".corp.example",), True),
        ("corp.example", (".corp.example",), True),
        ("evilcorp.example", (".corp.example",), False),
        ("anything.example", None, True),
        ("bad host", ("willow.example.com",), False),
    ],
)
def test_a_host_is_served_when_its_name_is_allowed(host, allowed, served):
    assert host_allowed(host, allowed) is served


# -- through the app ----------------------------------------------------------------------


@pytest.fixture
def make_app(database_url, backend):
    """Apps on the test's database with some settings (``app``, when also used, empties
    the PostgreSQL tables afterwards)."""
    made = []

    def make(**settings):
        overrides = {"SQLALCHEMY_DATABASE_URI": database_url, **settings}
        made.append(create_app(TestingConfig, overrides))
        return made[-1]

    yield make
    for app in made:
        app.extensions["willow_request_log"].stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_scim_request_for_another_host_gets_a_scim_400_and_changes_nothing(
    app, client, scim, make_token
):
    rv = scim.post("/Users", USER, headers={"Host": "evil.example"})
    assert rv.status_code == 400
    assert rv.mimetype == SCIM_TYPE
    body = rv.get_json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "400"
    assert "'evil.example'" in body["detail"] and "WILLOW_ALLOWED_HOSTS" in body["detail"]
    assert "Location" not in rv.headers
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_a_console_page_for_another_host_explains_what_to_set(client):
    rv = client.get("/admin/login", headers={"Host": "evil.example:8000"})
    assert rv.status_code == 400
    assert rv.mimetype == "text/plain"
    text = rv.get_data(as_text=True)
    assert "does not answer to the host name 'evil.example:8000'" in text
    assert "WILLOW_ALLOWED_HOSTS" in text and "WILLOW_PUBLIC_URL" in text
    assert rv.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/admin/login", "/admin/no-such-page", "/scim/v2/Users"])
@pytest.mark.parametrize("settings", [{}, {"WILLOW_PUBLIC_URL": "https://willow.example.com"}])
def test_a_malformed_host_gets_a_400_even_where_any_host_is_served(
    app, make_app, settings, path
):
    """Werkzeug builds no URLs for such a host; the console's error page needs them."""
    client = make_app(**settings).test_client()
    for host in ["a" * 5000 + ".example", "bad host", "x.example:99999"]:
        rv = client.get(path, headers={"Host": host, "Authorization": "Bearer x"})
        assert rv.status_code == 400, host
        assert len(rv.get_data()) < 1000


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000"])
def test_local_names_work_with_no_setting(scim, host):
    rv = scim.post("/Users", USER, headers={"Host": host})
    assert rv.status_code == 201
    assert rv.headers["Location"].startswith(f"http://{host}/scim/v2/Users/")


def test_listed_hosts_are_served_and_build_the_urls(app, make_app, make_token):
    listed = make_app(WILLOW_ALLOWED_HOSTS="willow.example.com").test_client()
    headers = {"Authorization": f"Bearer {make_token()}", "Content-Type": SCIM_TYPE}
    rv = listed.post(
        "/scim/v2/Users",
        data=json.dumps(USER),
        headers={**headers, "Host": "willow.example.com"},
    )
    assert rv.status_code == 201
    assert rv.headers["Location"].startswith("http://willow.example.com/scim/v2/Users/")
    # The list is the whole list: not even localhost is served outside it.
    assert listed.get("/scim/v2/Users", headers=headers).status_code == 400


def test_with_a_public_url_any_host_is_served_and_urls_ignore_it(app, make_app, make_token):
    public = make_app(WILLOW_PUBLIC_URL="https://willow.example.com").test_client()
    rv = public.post(
        "/scim/v2/Users",
        data=json.dumps(USER),
        headers={
            "Authorization": f"Bearer {make_token()}",
            "Content-Type": SCIM_TYPE,
            "Host": "10.0.0.7:8000",  # a load balancer's health probe addresses the node
        },
    )
    assert rv.status_code == 201
    assert rv.headers["Location"].startswith("https://willow.example.com/scim/v2/Users/")
    assert rv.get_json()["meta"]["location"] == rv.headers["Location"]


def test_the_sso_redirect_uri_comes_from_a_served_host_only(client, console):
    """The redirect URI an admin copies into the IdP is built from the request's host."""
    console.login()
    page = client.get("/admin/sso/", headers={"Host": "localhost:8000"})
    assert "http://localhost:8000/admin/sso/callback" in page.get_data(as_text=True)
    forged = client.get("/admin/sso/", headers={"Host": "evil.example"})
    assert forged.status_code == 400
    assert "evil.example/admin" not in forged.get_data(as_text=True)


def test_a_request_without_a_host_header_uses_the_servers_own_name(app):
    """HTTP/1.0 allows it; the URL root is then the server's name, not the client's."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "SERVER_NAME": "willow-1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
    }
    with app.request_context(environ):
        check_host()  # does not raise
        assert request.url_root == "http://willow-1:8000/"


# -- flask check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        ({}, "[warn] Host names: only localhost, 127.0.0.1, ::1"),
        ({"WILLOW_ALLOWED_HOSTS": "*"}, "[warn] Host names: WILLOW_ALLOWED_HOSTS is * and"),
        ({"WILLOW_PUBLIC_URL": "https://willow.example.com"}, "[ok  ] Host names: any"),
        ({"WILLOW_ALLOWED_HOSTS": "willow.example.com"}, "[ok  ] Host names: willow.example.com"),
    ],
)
def test_check_says_which_host_names_are_served(app, runner, settings, line):
    app.config.update(settings)
    result = runner.invoke(args=["check"])
    assert line in result.output


@pytest.mark.parametrize(
    "host",
    ["a." * 100_000, "a" * 200_000, "[" + ":" * 200_000 + "]", "1-" * 100_000 + ":8000"],
    ids=["labels", "one-label", "ipv6-colons", "port"],
)
def test_an_adversarial_host_is_refused_within_its_time_budget(host):
    """A Host header up to waitress's header limit is refused in linear time. Measured
    under 6 ms for the slowest (the IPv6 parser); budget 10 times that."""
    started = time.perf_counter()
    assert host_allowed(host, None) is False
    assert time.perf_counter() - started < 0.06
