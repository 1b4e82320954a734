"""Cursor values and cursor-paging parameters (RFC 9865), without an app."""

from __future__ import annotations

from datetime import datetime

import pytest

from willow.scim.protocol.cursor import BACKWARD
from willow.scim.protocol.cursor import FORWARD
from willow.scim.protocol.cursor import Position
from willow.scim.protocol.cursor import decode
from willow.scim.protocol.cursor import encode
from willow.scim.protocol.cursor import query_hash
from willow.scim.protocol.errors import ExpiredCursor
from willow.scim.protocol.errors import InvalidCount
from willow.scim.protocol.errors import InvalidCursor
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.listing import build_query
from willow.scim.protocol.listing import cursor_response

SECRET = "s3cret"
QUERY = query_hash("User", 1, None, None, False)
KEY = ("b@x.io", datetime(2026, 1, 2, 3, 4, 5, 678901), "9f0c-id")
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@pytest.mark.parametrize("direction", [FORWARD, BACKWARD])
def test_a_cursor_round_trips_its_position_and_direction(direction):
    text = encode(Position(direction, KEY), QUERY, 1000, SECRET)
    assert decode(text, QUERY, 1000, 600, SECRET) == Position(direction, KEY)


def test_a_cursor_uses_only_unreserved_characters():
    text = encode(Position(FORWARD, (None, "é", 3, True)), QUERY, 1000, SECRET)
    assert set(text) <= UNRESERVED


def test_a_cursor_signed_with_another_secret_is_invalid():
    text = encode(Position(FORWARD, KEY), QUERY, 1000, "other secret")
    with pytest.raises(InvalidCursor):
        decode(text, QUERY, 1000, 600, SECRET)


@pytest.mark.parametrize("index", [0, 5, -3])
def test_an_altered_cursor_is_invalid(index):
    text = encode(Position(FORWARD, KEY), QUERY, 1000, SECRET)
    flipped = "A" if text[index] != "A" else "B"
    altered = text[:index] + flipped + text[index + 1 :]
    with pytest.raises(InvalidCursor):
        decode(altered, QUERY, 1000, 600, SECRET)


def test_a_cursor_with_a_character_added_is_invalid():
    text = encode(Position(FORWARD, KEY), QUERY, 1000, SECRET)
    for altered in (text + "!", text[:-4] + "!" + text[-4:], "!" + text):
        with pytest.raises(InvalidCursor):
            decode(altered, QUERY, 1000, 600, SECRET)


@pytest.mark.parametrize("text", ["x", ".", "abc.", ".abc", "a.b.c", "%%%.%%%", "é.é"])
def test_garbage_is_an_invalid_cursor(text):
    with pytest.raises(InvalidCursor):
        decode(text, QUERY, 1000, 600, SECRET)


def test_a_cursor_of_another_query_is_invalid():
    text = encode(Position(FORWARD, KEY), QUERY, 1000, SECRET)
    other = query_hash("User", 1, 'userName sw "a"', None, False)
    with pytest.raises(InvalidCursor, match="another query"):
        decode(text, other, 1000, 600, SECRET)


def test_a_cursor_older_than_the_timeout_is_expired_and_not_before():
    text = encode(Position(FORWARD, KEY), QUERY, 1000, SECRET)
    assert decode(text, QUERY, 1600, 600, SECRET).key == KEY
    with pytest.raises(ExpiredCursor) as caught:
        decode(text, QUERY, 1601, 600, SECRET)
    assert caught.value.status == 400 and caught.value.scim_type == "expiredCursor"


def test_the_three_errors_are_400_with_the_rfc_9865_scim_types():
    assert (InvalidCursor.status, InvalidCursor.scim_type) == (400, "invalidCursor")
    assert (ExpiredCursor.status, ExpiredCursor.scim_type) == (400, "expiredCursor")
    assert (InvalidCount.status, InvalidCount.scim_type) == (400, "invalidCount")


def test_an_empty_cursor_parameter_asks_for_cursor_paging():
    query = build_query({"cursor": "", "count": "10"}, 1000)
    assert query.cursor_paged and query.cursor == "" and query.count == 10


def test_without_a_cursor_paging_is_by_index_as_before():
    query = build_query({"startIndex": "3", "count": "10"}, 1000)
    assert not query.cursor_paged and query.start_index == 3


@pytest.mark.parametrize("count", ["0", "-1", "abc", "1.5", 0])
def test_a_count_that_is_not_a_positive_integer_is_invalid_count(count):
    with pytest.raises(InvalidCount):
        build_query({"cursor": "", "count": count}, 1000)


def test_a_count_above_the_maximum_is_invalid_count_and_the_maximum_is_served():
    with pytest.raises(InvalidCount, match="1000"):
        build_query({"cursor": "", "count": "1001"}, 1000)
    assert build_query({"cursor": "", "count": "1000"}, 1000).count == 1000


def test_no_count_is_the_default_page_size():
    assert build_query({"cursor": ""}, 1000).count == 1000


def test_cursor_and_start_index_together_are_refused():
    with pytest.raises(InvalidValue, match="startIndex"):
        build_query({"cursor": "", "startIndex": "1"}, 1000)


def test_a_cursor_that_is_not_a_string_is_invalid():
    with pytest.raises(InvalidCursor):
        build_query({"cursor": 5}, 1000)


def test_a_cursor_response_has_no_start_index_and_only_the_cursors_it_has():
    body = cursor_response([{"id": "a"}], 3, "next", None)
    assert "startIndex" not in body and "previousCursor" not in body
    assert body["nextCursor"] == "next" and body["itemsPerPage"] == 1
    last = cursor_response([], 3, None, "prev")
    assert "nextCursor" not in last and last["previousCursor"] == "prev"
