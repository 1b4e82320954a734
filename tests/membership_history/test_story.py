"""A user's whole story (issue #23): the group requests that added or removed her are on
her directory page ("Group membership history", linked to each log entry) and are found
by the log search ``q`` for her id, userName or email. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.scim.test_groups import make_group
from tests.scim.test_users import create
from tests.scim.test_users import patch_ops
from willow.membership_history import store
from willow.membership_history.models import MembershipChange
from willow.monitor import queries
from willow.monitor.retention import prune_logs
from willow.storage.extensions import db
from willow.storage.models import ScimRequestLog
from willow.storage.models import User


def member_op(op: str, user_id: str) -> dict:
    if op == "remove":
        return patch_ops({"op": "remove", "path": f'members[value eq "{user_id}"]'})
    return patch_ops({"op": "add", "path": "members", "value": [{"value": user_id}]})


@pytest.fixture
def story(scim):
    """Jane joins Engineering at its creation, joins and leaves Sales by PATCH, leaves
    Engineering when a PUT replaces its members, and is in Ops when it is deleted. Bob
    only ever joins Sales."""
    jane = create(scim, "jane@example.com", emails=[{"value": "Jane.Doe@corp.example"}])
    bob = create(scim, "bob@example.com")
    engineering = make_group(scim, "Engineering", [jane["id"]])
    sales = make_group(scim, "Sales")
    assert scim.patch(f"/Groups/{sales['id']}", member_op("add", jane["id"])).status_code == 204
    assert scim.patch(f"/Groups/{sales['id']}", member_op("add", bob["id"])).status_code == 204
    removed = scim.patch(f"/Groups/{sales['id']}", member_op("remove", jane["id"]))
    assert removed.status_code == 204
    replaced = scim.put(
        f"/Groups/{engineering['id']}",
        {"displayName": "Engineering", "members": [{"value": bob["id"]}]},
    )
    assert replaced.status_code == 200
    ops = make_group(scim, "Ops", [jane["id"], bob["id"]])
    assert scim.delete(f"/Groups/{ops['id']}").status_code == 204
    return {"jane": jane, "bob": bob, "engineering": engineering, "sales": sales, "ops": ops}


def history_rows(html: str) -> list[tuple[str, str, str]]:
    """(group, change, log entry href) of each row of the history table."""
    section = html.split('id="membership-history"')[1].split("</section>")[0]
    rows = re.findall(r"<tr data-change=.*?</tr>", section, re.S)
    rv = []
    for row in rows:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        group = re.sub(r"<[^>]+>", "", cells[0]).strip()
        link = re.search(r'class="log-entry-link" href="([^"]+)"', row)
        rv.append((group, cells[1].strip(), link.group(1) if link else ""))
    return rv


def log_id(app, method: str, path: str) -> int:
    with app.app_context():
        return db.session.scalars(
            sa.select(ScimRequestLog.id)
            .where(ScimRequestLog.method == method, ScimRequestLog.path == path)
            .order_by(ScimRequestLog.id)
        ).all()


def test_the_user_page_lists_her_membership_changes_with_their_log_entries(
    app, client, console, story
):
    console.login()
    jane, eng, sales, ops = story["jane"], story["engineering"], story["sales"], story["ops"]
    html = client.get(f"/admin/directory/users/{jane['id']}").get_data(as_text=True)
    assert "Group membership history" in html
    entry = "/monitor/scim-logs/{}".format
    sales_patches = log_id(app, "PATCH", f"/scim/v2/Groups/{sales['id']}")
    assert history_rows(html) == [
        (
            "Ops",
            "Removed: group deleted",
            entry(log_id(app, "DELETE", f"/scim/v2/Groups/{ops['id']}")[0]),
        ),
        ("Ops", "Added", entry(log_id(app, "POST", "/scim/v2/Groups")[2])),
        ("Engineering", "Removed", entry(log_id(app, "PUT", f"/scim/v2/Groups/{eng['id']}")[0])),
        ("Sales", "Removed", entry(sales_patches[2])),
        ("Sales", "Added", entry(sales_patches[0])),
        ("Engineering", "Added", entry(log_id(app, "POST", "/scim/v2/Groups")[0])),
    ]
    # A group that still exists is linked; a deleted one is named only.
    assert f'href="/admin/directory/groups/{sales["id"]}"' in html
    assert f'href="/admin/directory/groups/{ops["id"]}"' not in html


def test_a_user_without_membership_changes_says_so(client, console, story):
    console.login()
    html = client.get(f"/admin/directory/users/{story['bob']['id']}").get_data(as_text=True)
    assert [change for _g, change, _l in history_rows(html)] == [
        "Removed: group deleted",
        "Added",
        "Added",
        "Added",
    ]
    other = create_user_without_groups(client, story)
    html = client.get(f"/admin/directory/users/{other}").get_data(as_text=True)
    assert "No group membership changes recorded" in html


def create_user_without_groups(client, story) -> str:
    with client.application.app_context():
        user = db.session.scalars(sa.select(User).where(User.id == story["jane"]["id"])).one()
        loner = User(
            organization_id=user.organization_id, user_name="loner", user_name_norm="loner"
        )
        db.session.add(loner)
        db.session.commit()
        return loner.id


def logged_requests(client, q: str) -> list[str]:
    """'METHOD path' of every row the log list shows for ``q``, newest first."""
    html = client.get("/monitor/scim-logs", query_string={"q": q}).get_data(as_text=True)
    rows = re.findall(
        r'<td class="method"><code>(\w+)</code></td>\s*<td class="path" title="([^"?]+)', html
    )
    count = re.search(r'id="match-count"><strong>([\d,]+)</strong>', html)
    assert int(count.group(1)) == len(rows)
    return [f"{m} {p}" for m, p in rows]


@pytest.mark.parametrize("q", ["jane", "JANE@EXAMPLE.COM", "jane.doe@corp", "<id>"])
def test_a_search_for_the_user_finds_the_group_requests_that_changed_her_groups(
    client, console, story, q
):
    console.login()
    jane, eng, sales, ops = story["jane"], story["engineering"], story["sales"], story["ops"]
    found = logged_requests(client, jane["id"] if q == "<id>" else q)
    group_requests = [r for r in found if "/Groups" in r]
    assert group_requests == [
        f"DELETE /scim/v2/Groups/{ops['id']}",
        "POST /scim/v2/Groups",
        f"PUT /scim/v2/Groups/{eng['id']}",
        f"PATCH /scim/v2/Groups/{sales['id']}",  # removed her
        f"PATCH /scim/v2/Groups/{sales['id']}",  # added her (not bob's PATCH)
        "POST /scim/v2/Groups",
    ]
    # Her own requests are still found by her userName and id (an email is not their label).
    assert ("POST /scim/v2/Users" in found) == (q != "jane.doe@corp")


def test_a_search_past_the_near_rows_finds_them_from_the_indexes(
    client, console, story, monkeypatch
):
    """With more rows than ``_probe_near`` looks through, every part of the search is read
    from its own index (``_text_page``): the same requests, in the same order."""
    monkeypatch.setattr(queries, "PROBE_ROWS", 3)
    console.login()
    found = logged_requests(client, "jane")
    assert [r.split("/")[-1] if "Groups/" in r else r for r in found[:3]] == [
        story["ops"]["id"],
        "POST /scim/v2/Groups",
        story["engineering"]["id"],
    ]
    assert len([r for r in found if "/Groups" in r]) == 6


def test_a_search_naming_too_many_users_searches_the_labels_only(
    client, console, scim, story, monkeypatch
):
    """``q=j`` (jane and jack) is a search of the labels, not of two users' stories."""
    create(scim, "jack@example.com")
    monkeypatch.setattr(store, "MAX_NAMED_USERS", 1)
    console.login()
    assert not [r for r in logged_requests(client, "j") if "/Groups" in r]
    assert [r for r in logged_requests(client, "jane") if "/Groups" in r]


def test_the_search_still_counts_each_request_once(client, console, story, scim):
    """A group named after her ("jane's team") matches by its label and by her membership:
    it is listed once."""
    team = make_group(scim, "Jane's team", [story["jane"]["id"]])
    console.login()
    found = logged_requests(client, "jane")
    assert found.count("POST /scim/v2/Groups") == 3
    assert team["displayName"] == "Jane's team"


def test_a_failed_group_request_records_no_membership_change(app, scim, story):
    jane, sales = story["jane"], story["sales"]
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(MembershipChange))
    rv = scim.patch(
        f"/Groups/{sales['id']}",
        member_op("add", jane["id"]),
        headers={"If-Match": 'W/"999"'},
    )
    assert rv.status_code == 412
    rv = scim.delete(f"/Groups/{story['engineering']['id']}", headers={"If-Match": 'W/"999"'})
    assert rv.status_code == 412
    with app.app_context():
        after = db.session.scalar(sa.select(sa.func.count()).select_from(MembershipChange))
    assert after == before


def test_the_history_is_pruned_with_the_request_log(app, story):
    with app.app_context():
        db.session.execute(
            sa.update(MembershipChange)
            .where(MembershipChange.change == "added")
            .values(occurred_at=datetime(2020, 1, 1))
        )
        db.session.commit()
        prune_logs(30)
        kept = db.session.scalars(sa.select(MembershipChange.change).distinct()).all()
    assert sorted(kept) == ["group_deleted", "removed"]
