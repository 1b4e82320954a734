"""The nesting measure that guards every JSON parse of outside input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from willow.server.json_limits import MAX_DEPTH
from willow.server.json_limits import NumberTooLong
from willow.server.json_limits import TooDeep
from willow.server.json_limits import loads
from willow.server.json_limits import nesting_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ('{"a": [1, {"b": "]]]"}]}', 3),
        ('["\\"[[[", [2]]', 2),
        ('["\\\\", [[3]]]', 3),  # an escaped backslash, then the string ends
        ("[[[", 3),  # truncated: still measured
        ('["unterminated [[[[', 1),
        ("[[]][[[]]]", 3),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text) == depth
    assert nesting_depth(text.encode()) == depth


def test_counting_stops_just_past_the_limit():
    assert nesting_depth("[" * 100_000, limit=5) == 6


def test_loads_refuses_too_deep_text_before_parsing_and_reads_the_rest():
    with pytest.raises(TooDeep):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError):
        loads("[" * 50_000)  # TooDeep is a ValueError: callers treat it as bad JSON


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=20,
    )
)
def test_nesting_depth_equals_the_depth_of_the_parsed_document(document):
    def depth(value) -> int:
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        return 0

    assert nesting_depth(json.dumps(document), limit=1000) == depth(document)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "x\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\uDFFF"}',
        b'{"\\u0000": 1}',
        '{"a": "\udc80"}'.encode("utf-8", "surrogatepass"),
        '{"a": "\ud800"}'.encode("utf-16-le", "surrogatepass"),
    ],
)
def test_every_body_holding_an_unstorable_string_is_walked(raw):
    from willow.scim.protocol.text import first_unstorable
    from willow.scim.protocol.text import may_hold_unstorable
    from willow.server.json_limits import loads

    assert first_unstorable(loads(raw)) is not None
    assert may_hold_unstorable(raw)


@pytest.mark.parametrize("raw", [b'{"userName": "a@b.c", "active": true}', b'{"a": "\\u00e9"}'])
def test_an_ascii_body_without_such_escapes_is_not_walked(raw):
    from willow.scim.protocol.text import may_hold_unstorable

    assert not may_hold_unstorable(raw)


def test_an_integer_of_too_many_digits_is_named_as_such_not_as_bad_json():
    with pytest.raises(NumberTooLong):
        loads('{"count": ' + "9" * 5000 + "}")
    assert loads('{"n": -' + "9" * 1000 + "}")["n"] == -int("9" * 1000)


def test_a_body_with_a_5000_digit_number_is_400_invalid_value(scim):
    body = '{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "n", "x": '
    rv = scim.post("/Users", body + "1" * 5000 + "}")
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidValue"
    assert "more than 1000 digits" in rv.get_json()["detail"]
