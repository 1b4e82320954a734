"""Deactivations sent in one /Bulk request meet the deprovisioning guard as if sent one by
one (willow/scim/bulk.py runs each as its own request): same threshold, same holds."""

from __future__ import annotations

from .conftest import DEACTIVATE

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_a_burst_of_deactivations_in_one_bulk_request_applies_ten_and_holds_fifteen(
    company, scim, guard_state
):
    ids = company(100)
    operations = [{"method": "PATCH", "path": f"/Users/{u}", "data": DEACTIVATE} for u in ids[:25]]
    rv = scim.post("/Bulk", {"schemas": [BULK], "Operations": operations})
    assert rv.status_code == 200
    assert [r["status"] for r in rv.get_json()["Operations"]] == ["200"] * 25
    held, _ = guard_state()
    assert held == ids[10:25]
