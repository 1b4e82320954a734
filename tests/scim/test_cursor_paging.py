"""Cursor-based pagination over HTTP (RFC 9865) on /Users, /Groups, the root and /.search."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

import pytest

from willow.scim.protocol import cursor as cursor_module

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def make_users(scim, n: int, prefix: str = "u") -> list[str]:
    return [
        scim.post("/Users", {"userName": f"{prefix}{i:03d}@x.io"}).get_json()["id"]
        for i in range(n)
    ]


def walk(scim, path: str, count: int, extra: str = "") -> list[dict]:
    """Every page of a forward walk, following nextCursor until it is absent."""
    pages = []
    url = f"{path}?cursor&count={count}{extra}"
    while True:
        rv = scim.get(url)
        assert rv.status_code == 200, rv.get_json()
        body = rv.get_json()
        pages.append(body)
        if "nextCursor" not in body:
            return pages
        url = f"{path}?cursor={body['nextCursor']}&count={count}{extra}"


def ids(pages: list[dict]) -> list[str]:
    return [r["id"] for page in pages for r in page["Resources"]]


def test_a_cursor_walk_returns_every_user_once_in_the_index_order(scim):
    created = make_users(scim, 11)
    pages = walk(scim, "/Users", 3)
    assert [len(p["Resources"]) for p in pages] == [3, 3, 3, 2]
    assert ids(pages) == created
    by_index = scim.get("/Users?count=100").get_json()
    assert ids(pages) == [r["id"] for r in by_index["Resources"]]
    for page in pages:
        assert "startIndex" not in page
        assert page["totalResults"] == 11 and page["itemsPerPage"] == len(page["Resources"])
    assert "previousCursor" not in pages[0]
    assert all("previousCursor" in p for p in pages[1:])
    assert "nextCursor" not in pages[-1]


def test_previous_cursor_returns_the_page_before(scim):
    make_users(scim, 7)
    pages = walk(scim, "/Users", 3)
    back = scim.get(f"/Users?cursor={pages[2]['previousCursor']}&count=3").get_json()
    assert [r["id"] for r in back["Resources"]] == [r["id"] for r in pages[1]["Resources"]]
    first = scim.get(f"/Users?cursor={back['previousCursor']}&count=3").get_json()
    assert [r["id"] for r in first["Resources"]] == [r["id"] for r in pages[0]["Resources"]]
    assert "previousCursor" not in first and "nextCursor" in first


def test_a_walk_fits_exactly_and_an_empty_list_has_no_cursors(scim):
    body = scim.get("/Users?cursor=&count=5").get_json()
    assert body["Resources"] == [] and body["totalResults"] == 0
    assert "nextCursor" not in body and "previousCursor" not in body
    make_users(scim, 4)
    pages = walk(scim, "/Users", 2)
    assert [len(p["Resources"]) for p in pages] == [2, 2]


def test_a_cursor_walk_with_a_filter_and_a_sort(scim):
    make_users(scim, 6, "a")
    make_users(scim, 3, "b")
    extra = "&filter=" + quote('userName sw "a"') + "&sortBy=userName&sortOrder=descending"
    pages = walk(scim, "/Users", 4, extra)
    names = [r["userName"] for p in pages for r in p["Resources"]]
    assert names == [f"a{i:03d}@x.io" for i in range(5, -1, -1)]
    assert pages[0]["totalResults"] == 6


def test_a_cursor_sent_with_another_filter_is_invalid_cursor(scim):
    make_users(scim, 3)
    first = scim.get("/Users?cursor&count=1").get_json()
    rv = scim.get(f"/Users?cursor={first['nextCursor']}&count=1&filter=" + quote('userName sw "u"'))
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidCursor"


def test_a_users_cursor_sent_to_groups_is_invalid_cursor(scim):
    make_users(scim, 3)
    first = scim.get("/Users?cursor&count=1").get_json()
    rv = scim.get(f"/Groups?cursor={first['nextCursor']}&count=1")
    assert rv.status_code == 400 and rv.get_json()["scimType"] == "invalidCursor"


@pytest.mark.parametrize("tamper", ["forge", "alter"])
def test_a_forged_or_altered_cursor_is_invalid_cursor(scim, tamper):
    make_users(scim, 3)
    issued = scim.get("/Users?cursor&count=1").get_json()["nextCursor"]
    if tamper == "forge":
        text = cursor_module.encode(
            cursor_module.Position("n", ("x",)), "q", 0, "not the app's secret"
        )
    else:
        body, _, mac = issued.partition(".")
        text = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    rv = scim.get(f"/Users?cursor={text}&count=1")
    assert rv.status_code == 400
    error = rv.get_json()
    assert error["scimType"] == "invalidCursor" and error["status"] == "400"


def test_a_cursor_older_than_the_timeout_is_expired_cursor(app, scim, monkeypatch):
    make_users(scim, 3)
    issued = scim.get("/Users?cursor&count=1").get_json()["nextCursor"]
    app.config["WILLOW_CURSOR_TIMEOUT"] = 60
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 61)
    rv = scim.get(f"/Users?cursor={issued}&count=1")
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "expiredCursor"
    monkeypatch.setattr(time, "time", lambda: real + 30)
    assert scim.get(f"/Users?cursor={issued}&count=1").status_code == 200


@pytest.mark.parametrize("count", ["0", "-5", "ten"])
def test_a_bad_count_with_a_cursor_is_invalid_count(scim, count):
    rv = scim.get(f"/Users?cursor&count={count}")
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidCount"


def test_a_count_above_the_maximum_is_invalid_count(app, scim):
    app.config["WILLOW_SCIM_MAX_RESULTS"] = 2
    make_users(scim, 3)
    rv = scim.get("/Users?cursor&count=3")
    assert rv.status_code == 400 and rv.get_json()["scimType"] == "invalidCount"
    body = scim.get("/Users?cursor&count=2").get_json()
    assert body["itemsPerPage"] == 2 and "nextCursor" in body


def test_cursor_and_start_index_together_are_refused(scim):
    rv = scim.get("/Users?cursor&startIndex=1")
    assert rv.status_code == 400
    assert rv.get_json()["scimType"] == "invalidValue"


def test_index_paging_is_unchanged_and_remains_the_default(scim):
    make_users(scim, 3)
    body = scim.get("/Users?startIndex=2&count=1").get_json()
    assert body["startIndex"] == 2 and body["totalResults"] == 3
    assert "nextCursor" not in body and "previousCursor" not in body
    assert "nextCursor" not in scim.get("/Users").get_json()


def test_groups_walk_by_cursor(scim):
    created = [scim.post("/Groups", {"displayName": f"G{i}"}).get_json()["id"] for i in range(5)]
    pages = walk(scim, "/Groups", 2)
    assert ids(pages) == created
    back = scim.get(f"/Groups?cursor={pages[-1]['previousCursor']}&count=2").get_json()
    assert [r["id"] for r in back["Resources"]] == created[2:4]


@pytest.mark.parametrize("path", ["/Users/.search", "/.search"])
def test_search_walks_by_cursor_in_the_body(scim, path):
    users = make_users(scim, 4)
    group = scim.post("/Groups", {"displayName": "Ops"}).get_json()["id"]
    expected = users + ([group] if path == "/.search" else [])
    seen, cursor = [], ""
    while cursor is not None:
        rv = scim.post(path, {"schemas": [SEARCH], "cursor": cursor, "count": 2})
        assert rv.status_code == 200, rv.get_json()
        body = rv.get_json()
        assert "startIndex" not in body
        seen += [r["id"] for r in body["Resources"]]
        cursor = body.get("nextCursor")
    assert seen == expected


def test_search_with_a_bad_count_and_a_cursor_is_invalid_count(scim):
    rv = scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": "", "count": 0})
    assert rv.status_code == 400 and rv.get_json()["scimType"] == "invalidCount"


def test_the_root_query_walks_users_then_groups_by_cursor(scim):
    users = make_users(scim, 3)
    groups = [scim.post("/Groups", {"displayName": f"G{i}"}).get_json()["id"] for i in range(2)]
    pages = walk(scim, "", 2)
    assert ids(pages) == users + groups
    assert all(p["totalResults"] == 5 for p in pages)
    back = scim.get(f"?cursor={pages[-1]['previousCursor']}&count=2").get_json()
    assert [r["id"] for r in back["Resources"]] == [users[2], groups[0]]


def test_the_service_provider_config_advertises_both_paging_methods(app, scim):
    body = scim.get("/ServiceProviderConfig").get_json()
    assert body["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": app.config["WILLOW_SCIM_MAX_RESULTS"],
        "maxPageSize": app.config["WILLOW_SCIM_MAX_RESULTS"],
        "cursorTimeout": app.config["WILLOW_CURSOR_TIMEOUT"],
    }


def test_a_walk_under_concurrent_inserts_and_deletes_sees_every_stable_user_once(app, scim, token):
    """Rows that exist for the whole walk appear exactly once, whatever another client
    inserts and deletes around them meanwhile (RFC 9865's reason to exist). Between two
    pages the other client inserts a user and deletes one not yet read and one already
    read, so every page boundary moves under the walk."""
    stable = make_users(scim, 24, "s")
    doomed = make_users(scim, 12, "d")
    turn = threading.Semaphore(0)
    done = threading.Semaphore(0)
    stop = threading.Event()
    errors: list[str] = []

    def churn() -> None:
        other = type(scim)(app.test_client(), token)
        i = 0
        while turn.acquire(timeout=30) and not stop.is_set():
            rv = other.post("/Users", {"userName": f"new{i}@x.io"})
            if rv.status_code != 201:
                errors.append(f"POST {rv.status_code}")
            for victim in (doomed.pop(), doomed.pop(0)) if len(doomed) > 1 else ():
                rv = other.delete(f"/Users/{victim}")
                if rv.status_code != 204:
                    errors.append(f"DELETE {rv.status_code}")
            i += 1
            done.release()

    writer = threading.Thread(target=churn)
    writer.start()
    seen: list[str] = []
    url = "/Users?cursor&count=4"
    try:
        while True:
            body = scim.get(url).get_json()
            seen += [r["id"] for r in body["Resources"]]
            if "nextCursor" not in body:
                break
            turn.release()  # the other client writes between this page and the next
            assert done.acquire(timeout=30)
            url = f"/Users?cursor={body['nextCursor']}&count=4"
    finally:
        stop.set()
        turn.release()
        writer.join()
    assert not errors
    assert not doomed  # the deletes did happen during the walk
    assert [user_id for user_id in seen if user_id in stable] == stable
    assert len(seen) == len(set(seen))


def test_the_root_query_walks_a_filter_of_one_type_and_a_sort_by_cursor(scim):
    make_users(scim, 5)
    scim.post("/Groups", {"displayName": "Ops"})
    only_users = walk(scim, "", 2, "&filter=" + quote('userName sw "u"'))
    assert len(ids(only_users)) == 5 and only_users[0]["totalResults"] == 5
    by_name = walk(scim, "", 2, "&sortBy=displayName&sortOrder=descending")
    assert len(ids(by_name)) == 6 and len(set(ids(by_name))) == 6
    by_index = scim.get("?sortBy=displayName&sortOrder=descending&count=100").get_json()
    assert ids(by_name) == [r["id"] for r in by_index["Resources"]]


@pytest.mark.parametrize("sort", ["emails.value", "meta.created", "active", "title"])
def test_a_sorted_cursor_walk_has_the_index_order(scim, sort):
    """Multi-valued, date, boolean and often-absent sort keys: NULLs last, ties by
    (created, id), the same order as index paging, page after page."""
    for i in range(7):
        user = {"userName": f"s{i}@x.io", "active": i % 2 == 0}
        if i % 3:
            user["emails"] = [{"value": f"{(i * 5) % 7}@mail.io", "primary": True}]
            user["title"] = f"T{(i * 3) % 4}"
        scim.post("/Users", user)
    for order in ("ascending", "descending"):
        extra = f"&sortBy={sort}&sortOrder={order}"
        pages = walk(scim, "/Users", 2, extra)
        by_index = scim.get(f"/Users?count=100{extra}").get_json()
        assert ids(pages) == [r["id"] for r in by_index["Resources"]]
        previous = pages[-1]["previousCursor"]
        back = scim.get(f"/Users?cursor={previous}&count=2{extra}").get_json()
        assert [r["id"] for r in back["Resources"]] == [r["id"] for r in pages[-2]["Resources"]]
