"""The OpenAPI 3.1 description of /scim/v2, and schemathesis against a live server.

``willow/scim/openapi.json`` is the description; ``GET /scim/v2/openapi.json`` serves it
to token holders. Schemathesis generates requests from it (valid and invalid ones) and
sends them to ``python app.py`` on a free port: no answer may be a 5xx, or break the
description (undocumented status, wrong content type, a body or header that does not
match its schema).
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from willow.scim.protocol.schema import ENTERPRISE_USER
from willow.scim.protocol.schema import GROUP
from willow.scim.protocol.schema import USER

from .conftest import COUNTS
from .conftest import SCIM_TYPE
from .conftest import default_org_token
from .conftest import served_database
from .conftest import user_body
from .live import LiveServer

OPENAPI = Path(__file__).resolve().parents[2] / "willow" / "scim" / "openapi.json"
#: Examples per operation; 23 operations. Bounded so the run stays well under a minute.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _document() -> dict:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


def test_the_description_is_served_to_token_holders_only(client, scim):
    rv = scim.get("/openapi.json")
    assert rv.status_code == 200
    assert rv.mimetype == "application/json"
    assert rv.get_json() == _document()
    anonymous = client.get("/scim/v2/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_the_description_is_openapi_31_and_names_every_route(app):
    document = _document()
    assert document["openapi"].startswith("3.1.")
    described = {
        (path if path != "/" else "", method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/scim/v2"):
            path = rule.rule.removeprefix("/scim/v2")
            for old, new in (("<user_id>", "{id}"), ("<group_id>", "{id}")):
                path = path.replace(old, new)
            path = path.replace("<name>", "{name}").replace("<urn>", "{urn}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == served


def test_the_description_names_every_schema_attribute(app):
    schemas = _document()["components"]["schemas"]
    for schema, output, written in (
        (USER, schemas["User"]["properties"], schemas["UserInput"]["properties"]),
        (GROUP, schemas["Group"]["properties"], schemas["GroupInput"]["properties"]),
    ):
        for attr in schema.attributes:
            if attr.returned != "never":
                assert attr.name in output, attr.name
            if attr.mutability != "readOnly":
                assert attr.name in written, attr.name
    enterprise = schemas["User"]["properties"][ENTERPRISE_USER.id]["properties"]
    assert {a.name for a in ENTERPRISE_USER.attributes} <= set(enterprise)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_target(request, tmp_path_factory):
    """One live server per database for all the generated requests, holding a user and
    a group (so that ids and filters sometimes hit something); yields it and a token."""
    with served_database(request, tmp_path_factory) as (app, url):
        with app.test_client() as client:
            token = default_org_token(app, "fuzz")
            headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_TYPE}
            rv = client.post("/scim/v2/Users", json=user_body("seed@example.com"), headers=headers)
            members = [{"value": rv.get_json()["id"]}]
            body = {"displayName": "seed", "members": members}
            client.post("/scim/v2/Groups", json=body, headers=headers)
        # Generated requests include ones without a valid token; the failed-authentication
        # limit would soon answer everything with 429 and end the fuzzing.
        log = tmp_path_factory.mktemp("fuzz") / "server.log"
        server = LiveServer(url, log, env={"WILLOW_AUTH_FAILURE_LIMIT": "0"}).start()
        try:
            yield server, token
        finally:
            server.stop()


def _schema(phases: list[str]):
    schema = schemathesis.openapi.from_path(OPENAPI)
    schema.config.phases.update(phases=phases)
    return schema


#: SQLite gets every phase, the coverage phase's boundary and wrong-type values for each
#: property included (about 4,000 requests); PostgreSQL the generated examples only, to
#: keep the suite's time in bounds (the bad-input corpus covers both databases).
FULL = _schema(["examples", "coverage", "fuzzing"])
LIGHT = _schema(["examples", "fuzzing"])
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _call_and_validate(case, fuzz_target) -> None:
    server, token = fuzz_target
    COUNTS[f"schemathesis requests ({server.database})"] += 1
    response = case.call(
        base_url=server.base + "/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    case.validate_response(response, checks=CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("fuzz_target", ["sqlite"], indirect=True)
@FULL.parametrize()
@FUZZ_SETTINGS
def test_schemathesis_finds_no_server_error_or_answer_outside_the_description_on_sqlite(
    case, fuzz_target
):
    _call_and_validate(case, fuzz_target)


@pytest.mark.slow
@pytest.mark.parametrize("fuzz_target", ["postgresql"], indirect=True)
@LIGHT.parametrize()
@FUZZ_SETTINGS
def test_schemathesis_finds_no_server_error_or_answer_outside_the_description_on_postgresql(
    case, fuzz_target
):
    _call_and_validate(case, fuzz_target)


@pytest.mark.parametrize("fuzz_target", ["sqlite"], indirect=True)
def test_a_chunked_body_over_the_limit_is_413_from_the_real_server(fuzz_target):
    """Without Content-Length the limit is enforced while the body is read (waitress
    de-chunks it; the test client cannot send this)."""
    server, token = fuzz_target

    def body(size: int):
        yield b'{"userName":"chunked@example.com","title":"'
        for _ in range(size // 65536):
            yield b"x" * 65536
        yield b'"}'

    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": SCIM_TYPE,
        "Transfer-Encoding": "chunked",
    }
    for size, status in ((65536, 400), (3 * 1024 * 1024, 413)):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request(
                "POST", "/scim/v2/Users", body=body(size), headers=headers, encode_chunked=True
            )
            response = conn.getresponse()
            assert response.status == status
            assert json.loads(response.read())["schemas"] == [
                "urn:ietf:params:scim:api:messages:2.0:Error"
            ]
        finally:
            conn.close()
