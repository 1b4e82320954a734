"""Admin → Directory: users (search, filter, sort, pagination), groups, role mapping."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import GroupMember


def user_names(html: str) -> list[str]:
    """userNames in the order the users table lists them."""
    return re.findall(r'<th scope="row"><a href="/admin/directory/users/[^"]+">([^<]+)</a>', html)


@pytest.fixture
def people(directory):
    """Four live users, one deleted, with names and emails to search."""
    return {
        "ann": directory.user(
            "ann@example.com",
            display_name="Ann Lee",
            name_given_name="Ann",
            name_family_name="Lee",
            emails=["ann.lee@corp.example"],
        ),
        "bob": directory.user(
            "bob@example.com", display_name="Bob Stone", emails=["robert@corp.example"]
        ),
        "cy": directory.user("cy@example.com", display_name="Cy Young", active=False),
        "dee": directory.user("Dee_100%@example.com", display_name="Aaron Dee"),
        "gone": directory.user("gone@example.com", deleted_at=sa.func.now()),
    }


def test_directory_redirects_to_users(client, console):
    console.login()
    rv = client.get("/admin/directory")
    assert rv.headers["Location"] == "/admin/directory/users"


def test_users_list_shows_live_users_with_email_and_status(client, console, people):
    console.login()
    html = client.get("/admin/directory/users").get_data(as_text=True)
    assert user_names(html) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "Dee_100%@example.com",
    ]
    assert "ann.lee@corp.example" in html
    assert 'class="badge badge-deactivated"' in html
    assert "gone@example.com" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=ANN", ["ann@example.com"]),
        ("q=stone", ["bob@example.com"]),
        ("q=robert%40corp", ["bob@example.com"]),
        ("q=lee", ["ann@example.com"]),
        ("q=%25", ["Dee_100%@example.com"]),
        ("q=_", ["Dee_100%@example.com"]),
        ("q=nobody", []),
        ("status=active", ["ann@example.com", "bob@example.com", "Dee_100%@example.com"]),
        ("status=deactivated", ["cy@example.com"]),
        ("status=deleted", ["gone@example.com"]),
        ("status=active&q=cy", []),
        (
            "status=bogus",
            ["ann@example.com", "bob@example.com", "cy@example.com", "Dee_100%@example.com"],
        ),
    ],
)
def test_users_search_and_status_filter(client, console, people, query, expected):
    console.login()
    rv = client.get(f"/admin/directory/users?{query}")
    assert rv.status_code == 200
    assert user_names(rv.get_data(as_text=True)) == expected


def test_deleted_users_are_marked_deleted(client, console, people):
    console.login()
    html = client.get("/admin/directory/users?status=deleted").get_data(as_text=True)
    assert 'class="badge badge-deleted"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=userName", ["ann", "bob", "cy", "dee"]),
        ("sort=userName&dir=desc", ["dee", "cy", "bob", "ann"]),
        ("sort=displayName", ["dee", "ann", "bob", "cy"]),
        ("sort=displayName&dir=desc", ["cy", "bob", "ann", "dee"]),
        ("sort=active", ["cy", "ann", "bob", "dee"]),
        ("sort=active&dir=desc", ["dee", "bob", "ann", "cy"]),
        ("sort=created", ["ann", "bob", "cy", "dee"]),
        ("sort=created&dir=desc", ["dee", "cy", "bob", "ann"]),
        ("sort=password", ["ann", "bob", "cy", "dee"]),
    ],
)
def test_users_sort(client, console, people, query, expected):
    console.login()
    html = client.get(f"/admin/directory/users?{query}").get_data(as_text=True)
    assert [name.split("@")[0].lower().split("_")[0] for name in user_names(html)] == expected


@pytest.fixture
def tracked(directory):
    """Users with and without an externalId, modified in an order of their own."""
    moments = {"ann": 3, "bob": 1, "cy": 4, "dee": 2}
    ids = {"ann": "E-300", "bob": None, "cy": "E-100", "dee": "E-200"}
    for name, hour in moments.items():
        directory.user(
            f"{name}@example.com",
            external_id=ids[name],
            last_modified_at=datetime(2026, 1, 1, hour),
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=externalId", ["cy", "dee", "ann", "bob"]),
        # A user without an externalId comes last whichever the direction.
        ("sort=externalId&dir=desc", ["ann", "dee", "cy", "bob"]),
        ("sort=lastModified", ["bob", "dee", "ann", "cy"]),
        ("sort=lastModified&dir=desc", ["cy", "ann", "dee", "bob"]),
    ],
)
def test_users_sort_by_external_id_and_last_modified(client, console, tracked, query, expected):
    console.login()
    html = client.get(f"/admin/directory/users?{query}").get_data(as_text=True)
    assert [name.split("@")[0] for name in user_names(html)] == expected


def test_users_list_shows_external_id_and_last_modified(client, console, tracked):
    console.login()
    html = client.get("/admin/directory/users").get_data(as_text=True)
    assert "<code>E-300</code>" in html
    assert '<time datetime="2026-01-01T03:00:00Z">2026-01-01 03:00 UTC</time>' in html
    for key in ("externalId", "lastModified"):
        assert f'href="/admin/directory/users?sort={key}"' in html


def test_the_sort_is_kept_in_the_pages_and_the_search(client, console, directory):
    for i in range(60):
        directory.user(f"u{i:02d}@example.com", last_modified_at=datetime(2026, 1, 1, 0, i))
    console.login()
    html = client.get("/admin/directory/users?sort=lastModified&dir=desc").get_data(as_text=True)
    assert user_names(html)[0] == "u59@example.com"
    assert 'href="/admin/directory/users?page=2&amp;sort=lastModified&amp;dir=desc"' in html
    assert '<input type="hidden" name="sort" value="lastModified">' in html
    second = client.get("/admin/directory/users?page=2&sort=lastModified&dir=desc")
    assert user_names(second.get_data(as_text=True))[0] == "u09@example.com"


def test_users_sort_header_marks_the_current_column(client, console, people):
    console.login()
    html = client.get("/admin/directory/users?sort=created&dir=desc").get_data(as_text=True)
    assert '<th scope="col" aria-sort="descending">' in html
    assert 'href="/admin/directory/users?sort=created"' in html


def test_users_are_paginated_fifty_a_page_keeping_the_filters(client, console, directory):
    for i in range(120):
        directory.user(f"user{i:03d}@example.com", active=i % 2 == 0)
    console.login()
    first = client.get("/admin/directory/users").get_data(as_text=True)
    assert len(user_names(first)) == 50
    assert "Page 1 of 3 (120 total)" in first
    third = client.get("/admin/directory/users?page=3").get_data(as_text=True)
    assert user_names(third)[0] == "user100@example.com"
    assert len(user_names(third)) == 20
    active = client.get("/admin/directory/users?status=active&sort=created").get_data(as_text=True)
    assert "Page 1 of 2 (60 total)" in active
    assert 'href="/admin/directory/users?page=2&amp;status=active&amp;sort=created"' in active
    beyond = client.get("/admin/directory/users?page=99").get_data(as_text=True)
    assert user_names(beyond) == []
    assert client.get("/admin/directory/users?page=abc").status_code == 200


def test_user_page_shows_attributes_emails_groups_and_effective_roles(
    client, console, directory, people
):
    directory.group("Admins", role="admin", members=[people["ann"]])
    directory.group("Everyone", role="viewer", members=[people["ann"], people["bob"]])
    directory.group("Book club", members=[people["ann"]])
    console.login()
    html = client.get(f"/admin/directory/users/{people['ann']}").get_data(as_text=True)
    assert "<dt>name.givenName</dt><dd>Ann</dd>" in html
    assert "ann.lee@corp.example" in html
    for group in ("Admins", "Everyone", "Book club"):
        assert f">{group}</a>" in html
    roles = html.split('id="roles-heading"')[1].split("</section>")[0]
    assert re.findall(r'badge-role">(\w+)<', roles) == ["admin", "viewer"]


def test_deactivated_user_page_shows_no_roles(client, console, directory, people):
    directory.group("Admins", role="admin", members=[people["cy"]])
    console.login()
    html = client.get(f"/admin/directory/users/{people['cy']}").get_data(as_text=True)
    assert "deactivated users have no roles" in html


def test_groups_list_shows_member_counts_from_one_grouped_query(
    app, client, console, directory, people
):
    directory.group("Admins", role="admin", members=[people["ann"]])
    directory.group("Everyone", members=[people["ann"], people["bob"], people["cy"]])
    directory.group("Empty")
    console.login()
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            html = client.get("/admin/directory/groups").get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    rows = re.findall(r'>([^<>]+)</a></th>\s*<td class="num">(\d+)</td>', html)
    assert rows == [("Admins", "1"), ("Empty", "0"), ("Everyone", "3")]
    member_queries = [s for s in statements if "group_members" in s]
    assert len(member_queries) == 1
    assert "GROUP BY" in member_queries[0]


def test_groups_search(client, console, directory):
    directory.group("Engineering")
    directory.group("Sales")
    console.login()
    html = client.get("/admin/directory/groups?q=ENGI").get_data(as_text=True)
    assert ">Engineering</a>" in html
    assert ">Sales</a>" not in html


def test_group_members_are_paginated_by_keyset(app, client, console, directory):
    org_users = [directory.user(f"member{i:03d}@example.com") for i in range(120)]
    group_id = directory.group("Big", members=org_users)
    console.login()
    html = client.get(f"/admin/directory/groups/{group_id}").get_data(as_text=True)
    assert "Members (120)" in html
    names = user_names(html)
    assert len(names) == 50
    assert names[0] == "member000@example.com"
    after = re.search(r'href="([^"]+after=[^"]+)" rel="next"', html).group(1)
    second = client.get(after.replace("&amp;", "&")).get_data(as_text=True)
    assert user_names(second)[0] == "member050@example.com"
    third_url = re.search(r'href="([^"]+after=[^"]+)" rel="next"', second).group(1)
    third = client.get(third_url.replace("&amp;", "&")).get_data(as_text=True)
    assert len(user_names(third)) == 20
    assert 'rel="next"' not in third
    assert "← First page" in third


def test_role_mapping_is_set_and_cleared_from_the_group_page(app, client, console, directory):
    ann = directory.user("ann")
    group_id = directory.group("Staff", members=[ann])
    console.login()
    page = client.get(f"/admin/directory/groups/{group_id}").get_data(as_text=True)
    assert '<option selected value="">No role</option>' in page
    rv = client.post(f"/admin/directory/groups/{group_id}/role", data={"role": "member"})
    assert rv.headers["Location"] == f"/admin/directory/groups/{group_id}"
    page = client.get(rv.headers["Location"]).get_data(as_text=True)
    assert "now get the member role" in page
    assert '<option selected value="member">member</option>' in page
    assert 'badge-role">member<' in client.get(f"/admin/directory/users/{ann}").get_data(
        as_text=True
    )
    client.post(f"/admin/directory/groups/{group_id}/role", data={"role": ""})
    with app.app_context():
        assert db.session.get(Group, group_id).role is None


def test_role_mapping_rejects_unknown_roles(app, client, console, directory):
    group_id = directory.group("Staff", role="viewer")
    console.login()
    rv = client.post(f"/admin/directory/groups/{group_id}/role", data={"role": "owner"})
    assert rv.status_code == 400
    assert "Not a valid choice" in rv.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Group, group_id).role == "viewer"


def test_admin_never_sees_another_organizations_directory(app, client, console, directory):
    other = directory.other_org()
    theirs = directory.user("theirs@other.example", org_id=other)
    their_group = directory.group("Their admins", org_id=other, role="admin", members=[theirs])
    directory.user("ours@example.com")
    console.login()
    users = client.get("/admin/directory/users?q=example").get_data(as_text=True)
    assert user_names(users) == ["ours@example.com"]
    groups = client.get("/admin/directory/groups").get_data(as_text=True)
    assert "Their admins" not in groups
    assert client.get(f"/admin/directory/users/{theirs}").status_code == 404
    assert client.get(f"/admin/directory/groups/{their_group}").status_code == 404
    rv = client.post(f"/admin/directory/groups/{their_group}/role", data={"role": "viewer"})
    assert rv.status_code == 404
    with app.app_context():
        assert db.session.get(Group, their_group).role == "admin"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GroupMember)) == 1


def test_unknown_ids_are_404(client, console):
    console.login()
    assert client.get("/admin/directory/users/nope").status_code == 404
    assert client.get("/admin/directory/groups/nope").status_code == 404


@pytest.mark.parametrize("direction", ["", "&dir=desc"])
def test_users_without_display_name_sort_last_in_both_directions(
    client, console, directory, direction
):
    directory.user("nameless@example.com")
    directory.user("a@example.com", display_name="A")
    directory.user("b@example.com", display_name="B")
    console.login()
    html = client.get(f"/admin/directory/users?sort=displayName{direction}").get_data(as_text=True)
    assert user_names(html)[-1] == "nameless@example.com"
