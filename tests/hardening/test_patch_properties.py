"""Property-based tests of the PATCH engine (pure: no database).

Random users and random PatchOp bodies, from well-formed ones to nonsense: the engine
either answers with a canonical user or raises a SCIM error, and never anything else;
it never changes its input; the path and no-path forms of an operation mean the same;
``add`` then ``remove`` of an attribute restores the user; ``replace`` is idempotent. The
group planner never fails otherwise than with a SCIM error either.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from willow.scim.protocol.errors import ScimError
from willow.scim.protocol.group_patch import plan_group_patch
from willow.scim.protocol.messages import load_patch_request
from willow.scim.protocol.normalize import normalize_resource
from willow.scim.protocol.patch import apply_patch
from willow.scim.protocol.schema import ENTERPRISE_USER
from willow.scim.protocol.schema import USER

from .conftest import COUNTS

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_ID = "2819c223-7f76-453a-919d-413861904646"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Text = st.text(alphabet='aAbZ é@._-"\\', max_size=6)
Json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | Text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(Text, inner, max_size=3),
    max_leaves=6,
)
SIMPLE = [a.name for a in USER.attributes if a.type == "string" and not a.multi_valued]
SIMPLE = [name for name in SIMPLE if name not in ("userName", "password", "id")]
MULTI = [a.name for a in USER.attributes if a.multi_valued and a.mutability != "readOnly"]
KNOWN_PATHS = [
    *SIMPLE,
    "userName",
    "active",
    "name",
    "name.givenName",
    "name.familyName",
    "password",
    "id",
    "meta",
    "groups",
    *MULTI,
    'emails[type eq "work"].value',
    'emails[type eq "work"]',
    'emails[value co "a"]',
    "emails.value",
    'phoneNumbers[type eq "mobile"].value',
    'addresses[type eq "work"].locality',
    ENTERPRISE_USER.id,
    f"{ENTERPRISE_USER.id}:employeeNumber",
    f"{ENTERPRISE_USER.id}:manager",
    f"{ENTERPRISE_USER.id}:manager.value",
    f"{USER.id}:title",
    "members",
    'members[value eq "x"]',
]
Paths = st.one_of(
    st.sampled_from(KNOWN_PATHS),
    st.sampled_from(KNOWN_PATHS).map(str.upper),
    st.text(alphabet='abcemails.[]"= :eqEQ', max_size=20),
    st.none(),
)
Ops = st.one_of(
    st.sampled_from(["add", "remove", "replace", "Add", "REPLACE", "Remove"]),
    st.text(max_size=4),
    Json,
)
Operation = st.fixed_dictionaries(
    {"op": Ops},
    optional={"path": st.one_of(Paths, Json), "value": Json},
)


@st.composite
def users(draw) -> dict:
    body: dict = {"userName": draw(Text.filter(str.strip))}
    for name in draw(st.lists(st.sampled_from(SIMPLE), max_size=3, unique=True)):
        body[name] = draw(Text.filter(str.strip))
    if draw(st.booleans()):
        body["active"] = draw(st.booleans())
    if draw(st.booleans()):
        body["name"] = {"givenName": draw(Text), "familyName": draw(Text)}
    if draw(st.booleans()):
        types = st.sampled_from(["work", "home", "other"])
        body["emails"] = draw(
            st.lists(st.fixed_dictionaries({"value": Text, "type": types}), max_size=3)
        )
    if draw(st.booleans()):
        body[ENTERPRISE_USER.id] = {"employeeNumber": draw(Text), "manager": {"value": draw(Text)}}
    try:
        resource, _ = normalize_resource("User", body)
    except ScimError:
        assume(False)
    return resource


def _patch(resource: dict, *operations: dict) -> dict:
    COUNTS["random PATCH requests applied"] += 1
    ops, _ = load_patch_request({"schemas": [PATCH_OP], "Operations": list(operations)})
    rv, _ = apply_patch("User", resource, ops, resource_id=USER_ID)
    return rv


def _outcome(resource: dict, *operations: dict):
    try:
        return "ok", _patch(resource, *operations)
    except ScimError as exc:
        return "error", exc.status


@SETTINGS
@given(resource=users(), operations=st.lists(Operation, min_size=1, max_size=4))
def test_any_patch_gives_a_canonical_user_or_a_scim_error_and_leaves_its_input_alone(
    resource, operations
):
    before = copy.deepcopy(resource)
    try:
        patched = _patch(resource, *operations)
    except ScimError as exc:
        assert 400 <= exc.status < 500
    else:
        canonical, _ = normalize_resource("User", patched)
        assert canonical == patched
        assert isinstance(patched.get("userName"), str) and patched["userName"].strip()
    assert resource == before


@SETTINGS
@given(resource=users(), name=st.sampled_from(SIMPLE + ["active", "name"]), value=Json)
def test_a_path_and_the_same_key_without_a_path_mean_the_same(resource, name, value):
    with_path = _outcome(resource, {"op": "replace", "path": name, "value": value})
    without = _outcome(resource, {"op": "replace", "value": {name: value}})
    if value is None:
        # replace with null and a null key: both mean "unassigned", or both are refused
        assert with_path[0] == without[0]
    else:
        assert with_path == without


@SETTINGS
@given(resource=users(), name=st.sampled_from(SIMPLE), value=Text.filter(str.strip))
def test_add_then_remove_of_an_unset_attribute_restores_the_user(resource, name, value):
    assume(name not in resource)
    added = _patch(resource, {"op": "add", "path": name, "value": value})
    assert added[name] == value
    assert _patch(added, {"op": "remove", "path": name}) == resource


@SETTINGS
@given(
    resource=users(),
    operations=st.lists(
        st.fixed_dictionaries(
            {
                "op": st.just("replace"),
                "path": st.sampled_from(SIMPLE + ["active", "name.givenName", "emails"]),
                "value": Json,
            }
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_replace_is_idempotent(resource, operations):
    once = _outcome(resource, *operations)
    assume(once[0] == "ok")
    assert _patch(once[1], *operations) == once[1]


@SETTINGS
@given(operations=st.lists(Operation, min_size=1, max_size=4))
def test_the_group_planner_gives_a_plan_or_a_scim_error(operations):
    try:
        ops, _ = load_patch_request({"schemas": [PATCH_OP], "Operations": operations})
        plan_group_patch(USER_ID, ops)
    except ScimError as exc:
        assert 400 <= exc.status < 500
