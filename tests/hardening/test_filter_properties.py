"""Property-based: a random filter, parsed and compiled to SQL, selects exactly the users
that an independent in-memory evaluation of the same filter selects, on random data, on
SQLite and PostgreSQL.

The filters are built here as small trees and rendered to text (random attribute-name
case, URN prefixes, ``not``/``and``/``or``/parentheses, value paths, every operator, values
with LIKE wildcards, backslashes, quotes and non-ASCII letters); the oracle below follows
the semantics written in ``willow.scim.store.filter_sql`` and never uses Willow's parser
or matcher. The users are created through the API, and the oracle reads them as the API
returns them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from .conftest import COUNTS
from .conftest import SCIM_TYPE
from .conftest import default_org_token
from .conftest import served_database

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
#: Letters that exercise case folding (ASCII and not), LIKE wildcards and escapes.
ALPHABET = 'aAbBäÄ%_\\"z'
#: Single-valued string attributes: (path, caseExact).
STRINGS = {
    "userName": False,
    "displayName": False,
    "title": False,
    "externalId": True,
    "name.givenName": False,
}
EMAIL_STRINGS = {"value": False, "type": False}
STRING_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


# --- random data -------------------------------------------------------------------------


def _word(rng: random.Random, low: int = 1, high: int = 3) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))


def _users(seed: int, count: int = 14) -> list[dict]:
    rng = random.Random(seed)
    rv = []
    for i in range(count):
        body: dict = {
            "schemas": [CORE],
            "userName": f"{_word(rng)}{i}",
            "active": rng.random() < 0.7,
        }
        for attr in ("displayName", "title", "externalId"):
            if rng.random() < 0.6:
                body[attr] = rng.choice([_word(rng), str(rng.randint(0, 20))])
        if rng.random() < 0.5:
            body["name"] = {"givenName": _word(rng)}
        emails = []
        for _ in range(rng.randint(0, 3)):
            email = {"value": _word(rng) + "@x"}
            if rng.random() < 0.7:
                email["type"] = rng.choice(["work", "home", "other", "Work"])
            if rng.random() < 0.3:
                email["primary"] = False
            emails.append(email)
        if emails and rng.random() < 0.5:
            rng.choice(emails)["primary"] = True
        if emails:
            body["emails"] = emails
        rv.append(body)
    return rv


@dataclass
class Dataset:
    client: object
    headers: dict
    resources: list[dict]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dataset(request, tmp_path_factory):
    with served_database(request, tmp_path_factory) as (app, _url):
        token = default_org_token(app, "properties")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_TYPE}
        for body in _users(seed=20261129):
            rv = client.post("/scim/v2/Users", data=json.dumps(body), headers=headers)
            assert rv.status_code == 201, rv.get_data(as_text=True)
        listed = client.get("/scim/v2/Users", query_string={"count": 1000}, headers=headers)
        yield Dataset(client, headers, listed.get_json()["Resources"])


# --- random filters, and the oracle ------------------------------------------------------

Values = st.text(alphabet=ALPHABET, min_size=0, max_size=3)


def _name(path: str, draw) -> str:
    """The attribute as a client may write it: any case, sometimes URN-qualified."""
    written = draw(st.sampled_from([path, path.lower(), path.upper()]))
    if "." not in path and draw(st.booleans()) and draw(st.booleans()):
        written = f"{CORE}:{written}"
    return written


@st.composite
def comparisons(draw, element: bool = False):
    """("cmp", path, op, value, text): one attribute comparison."""
    if element:
        kind = draw(st.sampled_from(["string", "string", "primary"]))
        path = draw(st.sampled_from(sorted(EMAIL_STRINGS))) if kind == "string" else "primary"
        written = draw(st.sampled_from([path, path.upper()]))
    else:
        kind = draw(st.sampled_from(["string", "string", "string", "active", "email", "emails"]))
        if kind == "string":
            path = draw(st.sampled_from(sorted(STRINGS)))
        elif kind == "active":
            path = "active"
        elif kind == "email":
            path = "emails." + draw(st.sampled_from(["value", "type", "primary"]))
        else:
            path = "emails"
        written = _name(path, draw)
    if path == "emails":
        return ("cmp", path, "pr", None, f"{written} pr")
    boolean = path in ("active", "primary", "emails.primary")
    if boolean:
        op = draw(st.sampled_from(["eq", "ne", "pr"]))
        value = None if op == "pr" else draw(st.booleans())
    else:
        op = draw(st.sampled_from([*STRING_OPS, "pr", "eq", "ne"]))
        if op == "pr":
            value = None
        elif op in ("eq", "ne") and draw(st.integers(0, 9)) == 0:
            value = "null"
        else:
            value = draw(Values)
    if op == "pr":
        text = f"{written} pr"
    elif value == "null":
        text = f"{written} {op} null"
        value = None
    else:
        rendered = json.dumps(value, ensure_ascii=draw(st.booleans()))
        text = f"{written} {draw(st.sampled_from([op, op.upper()]))} {rendered}"
    return ("cmp", path, op, value, text)


def _combine(children):
    return st.one_of(
        st.tuples(st.just("and"), children, children),
        st.tuples(st.just("or"), children, children),
        st.tuples(st.just("not"), children),
    )


@st.composite
def value_paths(draw):
    inner = draw(st.recursive(comparisons(element=True), _combine, max_leaves=3))
    return ("vp", inner)


FILTERS = st.recursive(st.one_of(comparisons(), value_paths()), _combine, max_leaves=5)


def render(node, element: bool = False) -> str:
    kind = node[0]
    if kind == "cmp":
        return node[4]
    if kind == "vp":
        return f"emails[{render(node[1], True)}]"
    if kind == "not":
        return f"not ({render(node[1], element)})"
    return f"({render(node[1], element)}) {kind} ({render(node[2], element)})"


def _fold(text: str, case_exact: bool) -> str:
    return text if case_exact else text.lower()


def _single(actual, op: str, value, case_exact: bool = False) -> bool:
    """One single value against a comparison (filter_sql's two-valued logic: a missing
    value makes eq/co/gt... false and ne true)."""
    if op == "pr":
        return actual is not None and actual != ""
    if value is None:
        return (actual is None) == (op == "eq")
    if isinstance(value, bool):
        if op == "eq":
            return actual is not None and actual == value
        return actual is None or actual != value
    if op == "ne":
        return actual is None or _fold(actual, case_exact) != _fold(value, case_exact)
    if actual is None:
        return False
    a, v = _fold(actual, case_exact), _fold(value, case_exact)
    return {
        "eq": a == v,
        "co": v in a,
        "sw": a.startswith(v),
        "ew": a.endswith(v),
        "gt": a > v,
        "ge": a >= v,
        "lt": a < v,
        "le": a <= v,
    }[op]


def _element_value(element: dict, sub: str):
    """A sub-attribute as the API renders it: a missing ``primary`` has no value (so
    ``primary eq false`` does not match it, and ``primary ne true`` does)."""
    return element.get(sub)


def evaluate(node, resource: dict, element: dict | None = None) -> bool:
    kind = node[0]
    if kind == "and":
        return evaluate(node[1], resource, element) and evaluate(node[2], resource, element)
    if kind == "or":
        return evaluate(node[1], resource, element) or evaluate(node[2], resource, element)
    if kind == "not":
        return not evaluate(node[1], resource, element)
    emails = resource.get("emails", [])
    if kind == "vp":
        return any(evaluate(node[1], resource, e) for e in emails)
    _, path, op, value, _ = node
    if element is not None:
        return _single(_element_value(element, path), op, value, EMAIL_STRINGS.get(path, False))
    if path == "emails":
        return bool(emails)
    if path.startswith("emails."):
        sub = path.split(".", 1)[1]
        values = [_element_value(e, sub) for e in emails]
        exact = EMAIL_STRINGS.get(sub, False)
        if op == "pr":
            return any(_single(v, "pr", None) for v in values)
        if value is None:
            present = any(v is not None for v in values)
            return not present if op == "eq" else present
        if op == "ne":
            return not any(_single(v, "eq", value, exact) for v in values)
        return any(_single(v, op, value, exact) for v in values)
    if path == "active":
        return _single(resource.get("active"), op, value)
    if path == "name.givenName":
        actual = resource.get("name", {}).get("givenName")
    else:
        actual = resource.get(path)
    return _single(actual, op, value, STRINGS[path])


# --- the property ------------------------------------------------------------------------


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tree=FILTERS)
def test_sql_filter_results_equal_an_in_memory_evaluation(dataset, tree):
    text = render(tree)
    COUNTS["random filters checked against the oracle"] += 1
    rv = dataset.client.get(
        "/scim/v2/Users",
        query_string={"filter": text, "count": 1000, "attributes": "id"},
        headers=dataset.headers,
    )
    assert rv.status_code == 200, (text, rv.get_json())
    got = {r["id"] for r in rv.get_json()["Resources"]}
    expected = {r["id"] for r in dataset.resources if evaluate(tree, r)}
    assert got == expected, text


def test_the_oracle_is_not_trivial(dataset):
    """Guard against an oracle (or data) for which every filter selects everyone or no
    one: hand-written filters with known answers."""
    everyone = {r["id"] for r in dataset.resources}
    for text, tree in [
        ("userName pr", ("cmp", "userName", "pr", None, "userName pr")),
        ("active eq true", ("cmp", "active", "eq", True, "active eq true")),
        ('emails.type eq "work"', ("cmp", "emails.type", "eq", "work", "")),
    ]:
        selected = {r["id"] for r in dataset.resources if evaluate(tree, r)}
        rv = dataset.client.get(
            "/scim/v2/Users", query_string={"filter": text, "count": 1000}, headers=dataset.headers
        )
        assert {r["id"] for r in rv.get_json()["Resources"]} == selected
        if text != "userName pr":
            assert selected and selected != everyone, text
