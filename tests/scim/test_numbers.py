"""Willow's one number rule (willow.numbers), pure: no app, no database."""

from __future__ import annotations

import pytest

from willow.numbers import INT64_MAX
from willow.numbers import NotAnInteger
from willow.numbers import OutOfRange
from willow.numbers import database_id
from willow.numbers import parse_integer
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.listing import build_query
from willow.scim.protocol.messages import load_search_request


@pytest.mark.parametrize(
    "raw, expected",
    [("0", 0), ("42", 42), (" 7\t", 7), ("-3", -3), ("007", 7), (12, 12), (3.0, 3)],
)
def test_ascii_digits_and_json_integers_are_numbers(raw, expected):
    assert parse_integer(raw, -100, 100) == expected


@pytest.mark.parametrize(
    "raw",
    ["", " ", "-", "+5", "99_999", "1 000", "0x10", "1e3", "1.5", "\uff11", "\u0661", "\u00b2",
     True, False, None, 1.5, float("inf"), float("nan"), [1], {"a": 1}],
)
def test_anything_else_is_not_a_number(raw):
    with pytest.raises(NotAnInteger):
        parse_integer(raw, -100, 100)


@pytest.mark.parametrize(
    "raw, clamped",
    [("101", 100), ("-101", -100), ("9" * 100_000, 100), ("-" + "9" * 100_000, -100),
     pytest.param(10**5000, 100, id="json-int-of-5001-digits"), ("0" * 5000 + "5", 5)],
)
def test_values_beyond_the_range_are_clamped_or_refused(raw, clamped):
    assert parse_integer(raw, -100, 100, clamp=True) == clamped
    if clamped in (-100, 100):
        with pytest.raises(OutOfRange):
            parse_integer(raw, -100, 100)


def test_digits_are_counted_before_int_so_the_4300_digit_limit_is_never_reached():
    assert parse_integer("9" * 4301, 1, INT64_MAX, clamp=True) == INT64_MAX


@pytest.mark.parametrize(
    "raw, expected",
    [("1", 1), (str(INT64_MAX), INT64_MAX), (str(INT64_MAX + 1), None), ("0", None),
     ("-1", None), ("\u0661", None), ("1_0", None), ("9" * 4301, None)],
)
def test_database_ids_fit_a_64_bit_column(raw, expected):
    assert database_id(raw) == expected


@pytest.mark.parametrize(
    "params, start, count",
    [
        ({}, 1, 100),
        ({"startIndex": "0", "count": "-5"}, 1, 0),
        ({"startIndex": str(2**63 + 5), "count": str(2**63 + 5)}, INT64_MAX, 100),
        ({"startIndex": "-" + "9" * 5000}, 1, 100),
        ({"STARTINDEX": 3, "Count": 2}, 3, 2),
    ],
)
def test_list_paging_is_clamped_as_rfc_7644_section_3_4_2_4_says(params, start, count):
    query = build_query(params, max_results=100)
    assert (query.start_index, query.count) == (start, count)


@pytest.mark.parametrize("raw", ["99_999", "\uff11", "\u0661\u0662", "1.5"])
def test_list_paging_in_other_spellings_is_an_invalid_value(raw):
    with pytest.raises(InvalidValue, match="digits 0-9"):
        build_query({"startIndex": raw}, max_results=100)


def test_search_request_numbers_are_read_by_the_same_rule():
    message = load_search_request({"startIndex": "9" * 5000, "count": 2**70})
    assert message.start_index == INT64_MAX and message.count == INT64_MAX
    with pytest.raises(InvalidValue):
        load_search_request({"startIndex": "99_999"})
