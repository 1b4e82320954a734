"""The guard on the SCIM write path: called by ``willow.scim.views._commit`` with a
change's events, in the change's own transaction, before they are written."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ..events import types as t
from ..events.derive import Effects
from ..events.envelope import Draft
from ..scim import audit
from ..storage.models import utcnow
from . import rules
from . import store

#: The events a held deprovisioning keeps back: those that tell downstream access changed.
HELD_TYPES = frozenset({t.USER_DEACTIVATED, t.USER_DELETED, t.ACCESS_CHANGED})
#: A reversal's events that the consumer must not see: it never saw access go.
_REVERSAL_TYPES = frozenset({t.USER_REACTIVATED, t.ACCESS_CHANGED})

HELD_NOTE = (
    "Provisioning guard: the effects of this deprovisioning are held until an admin allows them."
)
REVERSED_NOTE = (
    "Provisioning guard: this reverses a held deprovisioning; "
    "its held effects and events are dropped."
)


def screen(conn: Connection, effects: Effects | None, drafts: list[Draft]) -> list[Draft]:
    """The events to write now: all of them, or, for a held deprovisioning, all but
    ``HELD_TYPES`` (kept with the held change), or, for the IdP's reversal of one, all
    but the reversal's own access events."""
    if effects is None or effects.resource is None:
        return drafts
    if effects.resource_type == "Group":
        return _screen_role_losses(conn, effects, drafts)
    if effects.resource_type != "User":
        return drafts
    record = audit.current()
    organization_id = record.organization_id
    user = effects.resource
    if record.operation == "reactivate":
        if not store.reverse(conn, organization_id, user["id"]):
            return drafts
        audit.note(REVERSED_NOTE)
        return [d for d in drafts if d.type not in _REVERSAL_TYPES]
    if record.operation not in rules.DEPROVISIONING_OPERATIONS:
        return drafts
    now = utcnow()
    verdict = store.screen(conn, organization_id, now)
    if not verdict.held:
        return drafts
    role_before = next(
        (c.before for c in effects.access if c.user.get("id") == user["id"]), None
    )
    store.hold(
        conn,
        organization_id,
        user_id=user["id"],
        user_name=user.get("userName") or "",
        kind=record.operation,
        requested=record.changes or [{"attribute": "deleted", "before": False, "after": True}],
        request_id=record.request_id,
        token_name=record.token_name,
        occurred_at=now,
        role_before=role_before,
        events=[{"type": d.type, "data": d.data} for d in drafts if d.type in HELD_TYPES],
    )
    audit.note(HELD_NOTE)
    rv = [d for d in drafts if d.type not in HELD_TYPES]
    if verdict.tripped:
        # Delivered at once, not held: an operator's alerting hears of the trip.
        tripped = {
            "held": 1,
            "deprovisionings": verdict.deprovisionings,
            "threshold": verdict.threshold,
            "window_minutes": verdict.window_minutes,
        }
        rv.append(Draft(t.GUARD_TRIPPED, tripped))
    return rv


def _screen_role_losses(conn: Connection, effects: Effects, drafts: list[Draft]) -> list[Draft]:
    """A group change (members removed, group deleted) that leaves users without any
    role-granting group deprovisions them as a deactivation does: each is counted, and
    past the threshold held (the user keeps their role, their ``access.changed`` waits).
    A user given a role-granting group again while such a loss is held reverses it."""
    record = audit.current()
    organization_id = record.organization_id
    gained = [c.user.get("id") for c in effects.access if c.before is None and c.after]
    dropped = store.reverse_role_losses(conn, organization_id, gained) if gained else set()
    if dropped:
        audit.note(REVERSED_NOTE)
    rv = [d for d in drafts if not _access_of(d, dropped)]
    now = utcnow()
    for change in effects.access:
        if change.before is None or change.after is not None:
            continue
        verdict = store.screen(conn, organization_id, now, left_active=False)
        if not verdict.held:
            continue
        user_id = change.user.get("id")
        held = [d for d in rv if _access_of(d, {user_id})]
        store.hold(
            conn,
            organization_id,
            user_id=user_id,
            user_name=change.user.get("userName") or "",
            kind=store.ROLE_LOSS,
            requested=[
                {
                    "attribute": "members",
                    "group": (change.group or {}).get("displayName"),
                    "reason": change.reason,
                }
            ],
            request_id=record.request_id,
            token_name=record.token_name,
            occurred_at=now,
            role_before=change.before,
            events=[{"type": d.type, "data": d.data} for d in held],
        )
        audit.note(HELD_NOTE)
        rv = [d for d in rv if not _access_of(d, {user_id})]
        if verdict.tripped:
            rv.append(
                Draft(
                    t.GUARD_TRIPPED,
                    {
                        "held": 1,
                        "deprovisionings": verdict.deprovisionings,
                        "threshold": verdict.threshold,
                        "window_minutes": verdict.window_minutes,
                    },
                )
            )
    return rv


def _access_of(draft: Draft, user_ids: set[str]) -> bool:
    return draft.type == t.ACCESS_CHANGED and draft.data["user"].get("id") in user_ids
