"""The pure rules of db copy: which tables, in which order, and the checksum."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from decimal import Decimal

from willow.dbcopy.plan import LEFT_BEHIND
from willow.dbcopy.plan import TableDigest
from willow.dbcopy.plan import canonical
from willow.dbcopy.plan import plan_tables
from willow.storage.extensions import db


def test_parents_are_copied_before_the_tables_that_reference_them(app):
    order = [p.table.name for p in plan_tables(db.metadata)]
    for plan in plan_tables(db.metadata):
        for fk in plan.table.foreign_keys:
            assert order.index(fk.column.table.name) < order.index(plan.table.name)


def test_short_lived_state_is_left_behind_and_said_why(app):
    plans = {p.table.name: p for p in plan_tables(db.metadata)}
    for name in LEFT_BEHIND:
        assert not plans[name].copied and plans[name].why_not
    assert plans["users"].copied and plans["scim_request_logs"].copied


def test_without_log_leaves_only_the_request_log_behind_in_addition(app):
    with_log = {p.table.name for p in plan_tables(db.metadata) if p.copied}
    without = {p.table.name for p in plan_tables(db.metadata, with_log=False) if p.copied}
    assert with_log - without == {"scim_request_logs"}


def test_equal_values_read_from_either_database_have_one_text():
    aware = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert canonical(aware) == canonical(datetime(2026, 1, 2, 1, 4, 5, 6))
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1})
    assert canonical(Decimal("3")) == canonical(3) == canonical(3.0)
    assert canonical(True) != canonical(1)
    assert canonical(None) != canonical("") and canonical(None) != canonical("None")


def test_the_digest_ignores_row_order_but_sees_any_changed_value():
    rows = [(1, "jane", True, datetime(2026, 1, 1, tzinfo=UTC)), (2, "joe", False, None)]
    a, b, c = TableDigest(), TableDigest(), TableDigest()
    for row in rows:
        a.add(row)
    for row in reversed(rows):
        b.add(row)
    c.add(rows[0])
    c.add((2, "joe", True, None))
    assert a.hexdigest() == b.hexdigest() and a.rows == b.rows == 2
    assert c.hexdigest() != a.hexdigest()


def test_the_digest_counts_a_duplicated_row():
    a, b = TableDigest(), TableDigest()
    a.add((1, "x"))
    b.add((1, "x"))
    b.add((1, "x"))
    assert a.hexdigest() != b.hexdigest()
