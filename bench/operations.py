"""The benchmark's operations: what each request looks like, and what answer is right.

Bodies and URLs are the ones Okta sends (/work/shared/idp-traffic.md, README "Connect your
IdP"): a POST with password and externalId, a filter ``userName eq`` with paging, a PUT of
the whole user, a deactivating PATCH without ``path``, a startIndex list walk, and group
membership PATCHes (``add`` with ``path: members``; ``remove`` with a value-filter path).

``request(op, ctx, i)`` builds request number ``i`` of an operation from a small context
(``Target.context``), so that the spawned client processes make their own requests
without talking back to the orchestrator. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from .wire import build_request

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_DOMAIN = "bench.example.com"
#: Walks the seeded users in an order that is not the insertion order (a prime stride).
STRIDE = 7919


@dataclass(frozen=True)
class Op:
    key: str  #: stable name in the JSON results
    label: str  #: the table's first column
    ok: tuple[int, ...]  #: statuses that count as success
    solo: bool = False  #: one client (an admin at a page, a group push), not ``--clients``
    scim: bool = True  #: also run against the peer (a SCIM operation)
    unit: str = "req"  #: what the rate counts


def _ops() -> list[Op]:
    ops = [
        Op("post_user", "POST /Users (Okta body)", (201,)),
        Op("filter_hit", 'filter userName eq "…" (hit)', (200,)),
        Op("filter_miss", "filter userName eq (miss)", (200,)),
        Op("get_user", "GET /Users/{id}", (200,)),
        Op("put_user", "PUT /Users/{id}", (200,)),
        Op("patch_deactivate", "PATCH deactivate (no path)", (200, 204)),
        Op("list_walk", "list walk count=100", (200,)),
        Op("service_provider_config", "GET /ServiceProviderConfig", (200,)),
    ]
    return ops


#: The SCIM user operations, in the order they run.
USER_OPS = _ops()


def group_ops(sizes: list[int]) -> list[Op]:
    """Per group size: add/remove one member, and GET with and without members. One client,
    as an IdP pushes one group's membership changes in order."""
    ops = []
    for size in sizes:
        ops.append(Op(f"group_member_{size}", f"group add/remove 1 member ({size:,})",
                      (200, 204), solo=True))
    for size in sizes:
        ops.append(Op(f"get_group_excl_{size}",
                      f"GET group excludedAttributes=members ({size:,})", (200,), solo=True))
    for size in sizes:
        ops.append(Op(f"get_group_{size}", f"GET group with members ({size:,})", (200,),
                      solo=True))
    return ops


NOOP = Op("noop", "do-nothing Flask view", (200,), scim=False)
CONSOLE_OPS = [
    Op("log_page", "log console page, filtered (7d, 4xx, PATCH)", (200,), solo=True, scim=False),
    Op("log_search", "log console page, q=user000 (~70 % of rows)", (200,), solo=True, scim=False),
]
CSV = Op("csv_export", "log CSV export (all rows)", (200,), solo=True, scim=False, unit="row")


def user_id(index: int) -> str:
    """The id of seeded user ``index`` (a valid version-4 UUID)."""
    return f"b0000000-0000-4000-8000-{index:012d}"


def user_name(index: int) -> str:
    return f"user{index:07d}@{USER_DOMAIN}"


def group_id(size: int) -> str:
    return f"b1000000-0000-4000-8000-{size:012d}"


def group_name(size: int) -> str:
    return f"Bench {size} members"


def _filter(base: str, name: str) -> str:
    """Okta's lookup before a create: exact userName, with its paging parameters."""
    expression = quote(f'userName eq "{name}"')
    return f"{base}/Users?filter={expression}&startIndex=1&count=100"


def _json(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def okta_user(name: str, *, given: str = "Bench", family: str = "User", **extra) -> dict:
    return {
        "schemas": [CORE_USER],
        "userName": name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"{given} {family}",
        "active": True,
        **extra,
    }


def request(key: str, ctx: dict, i: int) -> bytes:
    """The bytes of request ``i`` of operation ``key``."""
    base = ctx["base"]
    users = ctx["users"]
    headers = ctx["headers"]
    host = ctx["host"]
    method, path, body = "GET", None, None
    if key == "noop":
        path = "/noop"
    elif key == "post_user":
        name = f"new-{ctx['tag']}-{i}@{USER_DOMAIN}"
        method, path = "POST", f"{base}/Users"
        body = okta_user(name, externalId=f"00unew{ctx['tag']}{i}", password="1mz050nq",
                         groups=[], locale="en-US")
    elif key == "filter_hit":
        path = _filter(base, user_name(i * STRIDE % users))
    elif key == "filter_miss":
        path = _filter(base, f"absent-{ctx['tag']}-{i}@{USER_DOMAIN}")
    elif key == "get_user":
        path = f"{base}/Users/{user_id((i * STRIDE + 1) % users)}"
    elif key == "put_user":
        index = (i * STRIDE + 2) % users
        method, path = "PUT", f"{base}/Users/{user_id(index)}"
        body = okta_user(user_name(index), given="Another", family=f"User {index}",
                         id=user_id(index), groups=[], meta={"resourceType": "User"})
    elif key == "patch_deactivate":
        method, path = "PATCH", f"{base}/Users/{user_id((i * STRIDE + 3) % users)}"
        body = {"schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"active": False}}]}
    elif key == "list_walk":
        pages = max(1, users // 100)
        path = f"{base}/Users?startIndex={1 + (i % pages) * 100}&count=100"
    elif key == "service_provider_config":
        path = f"{base}/ServiceProviderConfig"
    elif key.startswith("group_member_"):
        # Each client adds a spare user and removes it again on its next request, so the
        # group's size stays put and no two clients touch the same member.
        clients = ctx["clients"]
        slot, turn = i % clients, i // clients
        member = ctx["spare_start"] + (slot + clients * (turn // 2)) % ctx["spare"]
        method, path = "PATCH", f"{base}/Groups/{group_id(int(key.rsplit('_', 1)[1]))}"
        if turn % 2 == 0:
            operation = {"op": "add", "path": "members",
                         "value": [{"value": user_id(member), "display": user_name(member)}]}
        else:
            operation = {"op": "remove", "path": f'members[value eq "{user_id(member)}"]'}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
    elif key.startswith("get_group_excl_"):
        path = f"{base}/Groups/{group_id(int(key.rsplit('_', 1)[1]))}?excludedAttributes=members"
    elif key.startswith("get_group_"):
        path = f"{base}/Groups/{group_id(int(key.rsplit('_', 1)[1]))}"
    elif key == "log_page":
        path = "/monitor/scim-logs?from=7d&status=4xx&method=PATCH"
    elif key == "log_search":
        path = "/monitor/scim-logs?q=user000"
    else:
        raise ValueError(f"unknown operation {key!r}")
    data = _json(body) if body is not None else None
    return build_request(method, host, path, headers, data)
