"""A burst of deactivations past the threshold: the IdP sees success throughout, the
effects past the threshold are held until an admin allows them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from willow.sso.matching import refusal_for
from willow.storage.extensions import db
from willow.storage.models import User

from .conftest import DEACTIVATE
from .conftest import REACTIVATE


def access(app, user_id: str) -> tuple[str | None, str | None]:
    with app.app_context():
        rv = refusal_for(db.session.get(User, user_id))
        db.session.remove()
        return rv


def deactivate(scim, user_id: str) -> None:
    rv = scim.patch(f"/Users/{user_id}", DEACTIVATE)
    assert rv.status_code == 200, rv.get_data(as_text=True)
    assert rv.get_json()["active"] is False


@pytest.fixture
def burst(company, scim):
    """100 users, the first 25 deactivated by the IdP one after the other."""
    ids = company(100)
    for user_id in ids[:25]:
        deactivate(scim, user_id)
    return ids


def test_a_burst_past_the_threshold_applies_ten_and_holds_fifteen(app, scim, burst, guard_state):
    held, sessions = guard_state()
    assert held == burst[10:25]
    # (An applied deactivation ends the session at its next request: willow.sso.access.)
    assert set(burst[10:]) <= sessions
    for user_id in burst[:10]:
        assert access(app, user_id) == ("deactivated", None)
    for user_id in burst[10:25]:
        assert access(app, user_id) == (None, "member")
        # The IdP reads back what it asked.
        assert scim.get(f"/Users/{user_id}").get_json()["active"] is False


def test_held_deactivations_send_no_events_until_allowed(burst, events_of):
    deactivated = events_of("user.deactivated")
    assert [e["data"]["user"]["id"] for e in deactivated] == burst[:10]
    lost = [e for e in events_of("access.changed") if e["data"]["reason"] == "deactivated"]
    assert [e["data"]["user"]["id"] for e in lost] == burst[:10]


def test_the_idp_reactivating_a_held_user_drops_the_hold_and_its_events(
    app, scim, burst, guard_state, events_of
):
    before = len(events_of())
    rv = scim.patch(f"/Users/{burst[12]}", REACTIVATE)
    assert rv.status_code == 200 and rv.get_json()["active"] is True
    held, sessions = guard_state()
    assert len(held) == 14 and burst[12] not in held
    assert burst[12] in sessions
    assert access(app, burst[12]) == (None, "member")
    # Downstream never saw the access go: the reversal emits no event for it either.
    assert len(events_of()) == before


def test_allow_all_ends_the_sessions_and_sends_the_held_events_in_their_order(
    app, scim, burst, guard_state, events_of, runner
):
    scim.patch(f"/Users/{burst[12]}", REACTIVATE)
    result = runner.invoke(args=["guard", "allow", "--all"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "allowed: 14"
    released = [u for u in burst[10:25] if u != burst[12]]
    held, sessions = guard_state()
    assert held == []
    assert not sessions & set(released)
    assert set(burst[25:]) | {burst[12]} <= sessions
    for user_id in released:
        assert access(app, user_id) == ("deactivated", None)
    deactivated = events_of("user.deactivated")
    assert [e["data"]["user"]["id"] for e in deactivated] == burst[:10] + released
    late = deactivated[10:]
    assert all("held_since" in e["data"] for e in late)
    assert [e["occurred_at"] for e in late] == sorted(e["occurred_at"] for e in late)
    sequences = [e["sequence"] for e in events_of()]
    assert sequences == list(range(1, len(sequences) + 1))


def test_the_guard_rearms_once_nothing_is_held(scim, burst, runner, guard_state):
    assert runner.invoke(args=["guard", "allow", "--all"]).exit_code == 0
    # What was allowed is not counted again: ten more apply, the eleventh is held.
    for user_id in burst[25:36]:
        deactivate(scim, user_id)
    held, _ = guard_state()
    assert held == [burst[35]]


def test_a_deletion_counts_and_a_held_deleted_user_keeps_their_role(
    app, company, scim, guard_state, events_of
):
    ids = company(20)
    for user_id in ids[:11]:
        assert scim.delete(f"/Users/{user_id}").status_code == 204
    held, sessions = guard_state()
    assert held == [ids[10]]
    assert ids[10] in sessions
    assert access(app, ids[10]) == (None, "member")
    assert scim.get(f"/Users/{ids[10]}").status_code == 404
    assert len(events_of("user.deleted")) == 10


def test_entra_string_false_and_put_count_as_deactivations(app, company, scim, guard_state):
    ids = company(20)
    for user_id in ids[:10]:
        deactivate(scim, user_id)
    entra = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert scim.patch(f"/Users/{ids[10]}", entra).status_code == 200
    body = scim.get(f"/Users/{ids[11]}").get_json()
    body["active"] = False
    assert scim.put(f"/Users/{ids[11]}", body).status_code == 200
    held, _ = guard_state()
    assert held == [ids[10], ids[11]]


def test_a_guard_turned_off_holds_nothing(company, scim, runner, guard_state):
    assert runner.invoke(args=["guard", "set", "--off"]).exit_code == 0
    ids = company(20)
    for user_id in ids[:15]:
        deactivate(scim, user_id)
    assert guard_state()[0] == []


def test_the_trip_and_the_release_are_events_of_their_own_never_held(
    scim, burst, runner, events_of
):
    (tripped,) = events_of("guard.tripped")
    assert tripped["data"] == {
        "held": 1, "deprovisionings": 11, "threshold": 10, "window_minutes": 60,
    }
    # It comes right after the tenth applied deactivation: nothing held delays it.
    deactivated = events_of("user.deactivated")
    assert tripped["sequence"] > deactivated[-1]["sequence"]
    assert runner.invoke(args=["guard", "allow", "--user", burst[10]]).exit_code == 0
    assert runner.invoke(args=["guard", "allow", "--all"]).exit_code == 0
    released = events_of("guard.released")
    assert [e["data"] for e in released] == [
        {"released": 1, "still_held": 14, "decision": "allow_selected"},
        {"released": 14, "still_held": 0, "decision": "allow_all"},
    ]
    assert released[0]["actor"] == "command line"
    assert events_of()[-1]["type"] == "guard.released"
