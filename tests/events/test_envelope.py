"""Pure rules of the envelope, the cursor and the types filter."""

from __future__ import annotations

import base64
from datetime import UTC
from datetime import datetime

import pytest

from willow.events.envelope import Context
from willow.events.envelope import CursorError
from willow.events.envelope import Draft
from willow.events.envelope import changes_of
from willow.events.envelope import decode_cursor
from willow.events.envelope import encode_cursor
from willow.events.envelope import envelope
from willow.events.envelope import new_event_id
from willow.events.envelope import rfc3339
from willow.events.types import EVENT_TYPES
from willow.events.types import TypesFilterError
from willow.events.types import parse_types


@pytest.mark.parametrize("sequence", [0, 1, 42, 10**15])
def test_a_cursor_decodes_to_the_sequence_it_encodes(sequence):
    assert decode_cursor(encode_cursor(sequence)) == sequence


def test_a_cursor_is_opaque_base64url_of_a_versioned_sequence():
    cursor = encode_cursor(7)
    assert "=" not in cursor
    assert base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) == b"v1:7"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["", "   ", "!!!", "7", _b64("v2:7"), _b64("v1:-1"), _b64("v1:07"), _b64("v1:"),
     _b64("v1:1 "), _b64("v1:" + "9" * 30), "A" * 100, "\u00e9t\u00e9"],
)
def test_a_cursor_not_handed_out_is_refused(cursor):
    with pytest.raises(CursorError):
        decode_cursor(cursor)


def test_types_absent_or_empty_select_every_type():
    assert parse_types(None) is None
    assert parse_types("") is None
    assert parse_types(" , ") is None


def test_types_take_exact_names_and_prefixes_in_documented_order():
    assert parse_types("user.created") == ("user.created",)
    assert parse_types("group.member_*,user.deleted") == (
        "user.deleted", "group.member_added", "group.member_removed",
    )
    assert parse_types("*") == EVENT_TYPES
    assert parse_types("user.*, user.created") == tuple(t for t in EVENT_TYPES if t[:5] == "user.")


@pytest.mark.parametrize("text", ["users.*", "user.create", "access", "x*"])
def test_a_types_item_that_selects_nothing_is_refused_with_the_known_types(text):
    with pytest.raises(TypesFilterError, match="user.created"):
        parse_types(text)


def test_changes_map_attributes_to_before_and_after_and_leave_members_out():
    audit_changes = [
        {"attribute": "name.givenName", "before": "A", "after": "B"},
        {"attribute": "active", "before": True, "after": False},
        {"attribute": "members", "added": [{"value": "u1"}], "removed": []},
    ]
    assert changes_of(audit_changes) == {
        "name.givenName": {"before": "A", "after": "B"},
        "active": {"before": True, "after": False},
    }


def test_the_envelope_has_every_field_in_rfc3339_utc():
    context = Context("acme", datetime(2026, 12, 7, 10, 42, 0, 123456), "req1", "Okta")
    event = envelope("evt_1", 5, Draft("user.created", {"user": {"id": "u"}}), context)
    assert event == {
        "id": "evt_1",
        "sequence": 5,
        "type": "user.created",
        "occurred_at": "2026-12-07T10:42:00.123Z",
        "organization": "acme",
        "request_id": "req1",
        "actor": "Okta",
        "data": {"user": {"id": "u"}},
    }


def test_an_aware_time_is_written_in_utc():
    moment = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert rfc3339(moment) == "2026-12-07T10:00:00.000Z"


def test_event_ids_are_evt_and_32_hex_digits_and_unique():
    ids = {new_event_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(i.startswith("evt_") and len(i) == 36 and int(i[4:], 16) >= 0 for i in ids)
