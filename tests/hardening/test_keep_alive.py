"""Keep-alive through a real ``python app.py``: an IdP's group PATCH (204) and its next
request share one connection (issue #23). A live process, not a server thread of the
test process, so that nothing of the test's own sockets can touch the server's."""

from __future__ import annotations

import json

from tests.test_http_server import _exchange
from tests.test_http_server import _request

from .conftest import default_org_token


def test_an_idps_group_patch_and_its_next_request_share_one_connection(app, live_servers):
    (server,) = live_servers(1)
    token = default_org_token(app)
    auth = {"Authorization": f"Bearer {token}"}
    scim_json = {**auth, "Content-Type": "application/scim+json"}
    group = json.dumps(
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"}
    ).encode()
    [created] = _exchange(server.port, [_request("POST", "/scim/v2/Groups", scim_json, group)])
    assert created.split(b" ", 2)[1] == b"201"
    location = [
        line.split(b":", 1)[1].strip().decode()
        for line in created.split(b"\r\n")
        if line.lower().startswith(b"location:")
    ][0]
    path = "/scim/v2/Groups/" + location.rsplit("/", 1)[1]
    patch = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Eng"}],
        }
    ).encode()
    heads = _exchange(
        server.port,
        [
            _request("PATCH", path, scim_json, patch),
            _request("PATCH", path, scim_json, patch.replace(b'"Eng"', b'"Eng2"')),
            _request("GET", path, auth),
        ],
    )
    assert [h.split(b" ", 2)[1] for h in heads] == [b"204", b"204", b"200"]
    assert not [h for h in heads if b"connection: close" in h.lower()]
