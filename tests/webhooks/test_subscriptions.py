from __future__ import annotations

import pytest
import sqlalchemy as sa

from willow.webhooks.subscriptions import EVENT_TYPES
from willow.webhooks.subscriptions import InvalidTypes
from willow.webhooks.subscriptions import matches
from willow.webhooks.subscriptions import parse_types
from willow.webhooks.subscriptions import sql_condition


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("*", []),
        ("user.*, *", []),
        (" User.Deactivated ,group.*,user.deactivated", ["group.*", "user.deactivated"]),
        ("access.changed", ["access.changed"]),
    ],
)
def test_type_lists_are_normalised(text, expected):
    assert parse_types(text) == expected


@pytest.mark.parametrize(
    "text", ["user", "user.creatd", "users.*", "user.*.x", "user.created;drop"]
)
def test_unknown_types_are_refused(text):
    with pytest.raises(InvalidTypes, match="unknown event type"):
        parse_types(text)


def test_matching_in_python_and_in_sql_agree():
    table = sa.table("events", sa.column("type"))
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE events (type TEXT)")
        conn.execute(sa.insert(table), [{"type": t} for t in EVENT_TYPES])
        for types in (["user.*"], ["group.member_added", "access.changed"], ["group.*"], []):
            condition = sql_condition(types, table.c.type)
            query = sa.select(table.c.type)
            if condition is not None:
                query = query.where(condition)
            in_sql = set(conn.scalars(query))
            assert in_sql == {t for t in EVENT_TYPES if matches(types, t)}, types
