"""A user losing their last role-granting group through the IdP is a deprovisioning: an
"Everyone" group emptied by a bad rule, or deleted, is counted and held like a burst of
deactivations (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Group

from .conftest import PATCH
from .test_burst import access


def _everyone(app) -> str:
    with app.app_context():
        rv = db.session.scalars(sa.select(Group.id).where(Group.display_name == "Everyone")).one()
        db.session.remove()
        return rv


def _remove(scim, group_id: str, user_ids: list[str]) -> None:
    ops = [{"op": "remove", "path": f'members[value eq "{u}"]'} for u in user_ids]
    rv = scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": ops})
    assert rv.status_code in (200, 204), rv.get_data(as_text=True)


def test_emptying_the_role_group_applies_ten_losses_and_holds_the_rest(
    app, company, scim, guard_state, events_of
):
    ids = company(100)
    everyone = _everyone(app)
    for user_id in ids[:25]:
        _remove(scim, everyone, [user_id])
    held, sessions = guard_state()
    assert held == ids[10:25]
    for user_id in ids[:10]:
        assert access(app, user_id)[1] is None  # the role is gone
    for user_id in ids[10:25]:
        assert access(app, user_id) == (None, "member")  # kept while held
    assert set(ids[10:25]) <= sessions
    lost = [e for e in events_of("access.changed") if e["data"]["role"]["after"] is None]
    assert [e["data"]["user"]["id"] for e in lost] == ids[:10]
    # The membership itself is applied: the IdP reads back what it asked.
    members = scim.get(f"/Groups/{everyone}").get_json().get("members", [])
    assert not {m["value"] for m in members} & set(ids[:25])
    assert len(events_of("guard.tripped")) == 1


def test_one_patch_removing_many_members_holds_those_past_the_threshold(
    app, company, scim, guard_state
):
    ids = company(50)
    _remove(scim, _everyone(app), ids[:30])
    held, _ = guard_state()
    assert held == ids[10:30]


def test_re_adding_a_held_user_reverses_the_loss_and_sends_no_access_event(
    app, company, scim, guard_state, events_of
):
    ids = company(40)
    everyone = _everyone(app)
    for user_id in ids[:12]:
        _remove(scim, everyone, [user_id])
    held, _ = guard_state()
    assert held == ids[10:12]
    rv = scim.patch(
        f"/Groups/{everyone}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[11]}]}],
        },
    )
    assert rv.status_code in (200, 204)
    held, _ = guard_state()
    assert held == [ids[10]]
    about_11 = [
        e
        for e in events_of("access.changed")
        if e["data"]["user"]["id"] == ids[11] and e["data"]["reason"] != "role_mapping"
    ]
    assert about_11 == []  # downstream never saw the role go, nor come back
    assert access(app, ids[11]) == (None, "member")


def test_deleting_the_role_group_counts_each_member_who_loses_their_role(
    app, company, scim, guard_state, runner
):
    ids = company(30)
    assert scim.delete(f"/Groups/{_everyone(app)}").status_code == 204
    held, _ = guard_state()
    assert len(held) == 20 and set(held) <= set(ids)  # in the order the members were read
    result = runner.invoke(args=["guard", "allow", "--all"])
    assert result.exit_code == 0, result.output
    held, _ = guard_state()
    assert held == []
    assert access(app, ids[20])[1] is None


def test_a_console_role_mapping_change_is_not_guarded(app, company, runner, guard_state):
    company(30)
    result = runner.invoke(args=["group", "role", "Everyone", "none"])
    assert result.exit_code == 0, result.output
    held, _ = guard_state()
    assert held == []
