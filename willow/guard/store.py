"""The guard's storage: counting deprovisionings, holding their effects, releasing them.

Counting and deciding run under the organization row's lock, the one the events take
(``willow.events.store``), taken in the SCIM change's own transaction: concurrent
deprovisionings of one organization are counted one after the other, on PostgreSQL with
several app servers too (SQLite serialises writers anyway), so a burst cannot race past
the threshold. The untripped path reads a handful of recent rows, never the request log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from ..storage.extensions import db
from ..storage.models import ConsoleUser
from ..storage.models import GuardDecision
from ..storage.models import GuardDeprovisioning
from ..storage.models import GuardHeldChange
from ..storage.models import GuardSettings
from ..storage.models import Organization
from ..storage.models import User
from ..storage.models import utcnow
from ..storage.prepared import Prepared
from . import rules

SETTINGS = GuardSettings.__table__
COUNTED = GuardDeprovisioning.__table__
HELD = GuardHeldChange.__table__
ORGS = Organization.__table__
USERS = User.__table__

# The statements of the SCIM write path, compiled once (``willow.storage.prepared``): Core's
# per-call overhead would be most of the guard's cost on an untripped deprovisioning.
_LOCK = Prepared(
    update(ORGS).where(ORGS.c.id == bindparam("org")).values(event_sequence=ORGS.c.event_sequence)
)
_STATE = Prepared(select(SETTINGS).where(SETTINGS.c.organization_id == bindparam("org")))
#: The organization's guard row and whether it holds, in one statement. Read after the
#: lock is taken, by a statement of its own: on PostgreSQL a statement that waited for a
#: lock sees the other tables as of before the wait (READ COMMITTED), the next one does not.
_SCREEN_STATE = Prepared(
    select(
        SETTINGS,
        exists().where(HELD.c.organization_id == ORGS.c.id).label("holding"),
    )
    .select_from(ORGS.outerjoin(SETTINGS, SETTINGS.c.organization_id == ORGS.c.id))
    .where(ORGS.c.id == bindparam("org"))
)
_PRUNE = Prepared(
    delete(COUNTED).where(
        COUNTED.c.organization_id == bindparam("org"), COUNTED.c.occurred_at < bindparam("before")
    )
)
_COUNT = Prepared(
    select(
        func.count().label("n"),
        # No literals: a Prepared statement's parameters are only the named ones.
        func.sum(cast(COUNTED.c.left_active, Integer)).label("left"),
    )
    .select_from(COUNTED)
    .where(
        COUNTED.c.organization_id == bindparam("org"), COUNTED.c.occurred_at >= bindparam("since")
    )
)
_COUNTED = Prepared(insert(COUNTED), column_keys=["organization_id", "occurred_at", "left_active"])
#: The held change's kind for a user who lost their last role-granting group (a
#: membership removed or a group deleted by the IdP); the others are the SCIM operations
#: ``deactivate`` and ``delete``.
ROLE_LOSS = "role_loss"

_REVERSE = Prepared(
    delete(HELD).where(
        HELD.c.organization_id == bindparam("org"), HELD.c.user_id == bindparam("user")
    )
)
#: A held loss of the last role-granting group, taken back by the IdP (re-added).
_ROLE_LOSSES_HELD = Prepared(
    select(HELD.c.user_id).where(
        HELD.c.organization_id == bindparam("org"), HELD.c.kind == bindparam("kind")
    )
)
_REVERSE_ROLE_LOSS = Prepared(
    delete(HELD).where(
        HELD.c.organization_id == bindparam("org"),
        HELD.c.user_id == bindparam("user"),
        HELD.c.kind == bindparam("kind"),
    )
)


def lock_organization(conn: Connection, organization_id: int) -> None:
    """Take the organization row's lock until the transaction ends (a no-op update: on
    PostgreSQL a row lock, on SQLite the write lock)."""
    _LOCK.execute(conn, {"org": organization_id})


@dataclass(frozen=True)
class State:
    """An organization's guard row as the SCIM path reads it."""

    settings: rules.Settings
    exists: bool = False
    armed_since: datetime | None = None
    population: int | None = None
    population_at: datetime | None = None


def read_state(conn: Connection, organization_id: int) -> State:
    """The organization's guard row (the defaults when it has none)."""
    row = _STATE.first(conn, {"org": organization_id})
    return State(rules.DEFAULTS) if row is None else _state(row)


def _state(row: dict[str, Any]) -> State:
    return State(
        rules.Settings(row["enabled"], row["count"], row["percent"], row["window_minutes"]),
        True,
        row["armed_since"],
        row["population"],
        row["population_at"],
    )


def _population(
    conn: Connection,
    organization_id: int,
    state: State,
    window_start: datetime,
    now: datetime,
    earlier: int,
) -> int:
    """The active users before the window's deprovisionings (those active now plus the
    ``earlier`` ones that left the active users: a role loss leaves its user active),
    counted at most once per window and kept on the guard's row."""
    if state.population_at is not None and state.population_at >= window_start:
        return state.population or 0
    population = _active_users(conn, organization_id) + earlier
    values = {"population": population, "population_at": now}
    if state.exists:
        conn.execute(
            update(SETTINGS).where(SETTINGS.c.organization_id == organization_id).values(values)
        )
    else:
        defaults = rules.DEFAULTS
        conn.execute(
            insert(SETTINGS).values(
                organization_id=organization_id,
                enabled=defaults.enabled,
                count=defaults.count,
                percent=defaults.percent,
                window_minutes=defaults.window_minutes,
                **values,
            )
        )
    return population


def _active_users(conn: Connection, organization_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(USERS)
        .where(
            USERS.c.organization_id == organization_id,
            USERS.c.active.is_(True),
            USERS.c.deleted_at.is_(None),
        )
    ).scalar_one()


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about one deprovisioning."""

    held: bool
    #: This one tripped the guard (nothing was held before it): the figures of the trip.
    tripped: bool = False
    deprovisionings: int = 0
    threshold: int = 0
    window_minutes: int = 0


_APPLY = Verdict(False)
_HOLD = Verdict(True)


def screen(
    conn: Connection, organization_id: int, now: datetime, *, left_active: bool = True
) -> Verdict:
    """Count one deprovisioning and decide whether its effects must be held.

    While anything is held the guard stays tripped: every further deprovisioning is held
    too, until an admin's decision leaves nothing held.
    """
    lock_organization(conn, organization_id)
    row = _SCREEN_STATE.first(conn, {"org": organization_id}) or {}
    # No guard row (the outer join's columns are null): the defaults.
    state = _state(row) if row.get("organization_id") is not None else State(rules.DEFAULTS)
    settings, armed_since = state.settings, state.armed_since
    if not settings.enabled:
        return _APPLY
    if row.get("holding"):
        return _HOLD
    window_start = now - timedelta(minutes=settings.window_minutes)
    _PRUNE.execute(conn, {"org": organization_id, "before": window_start})
    since = max(window_start, armed_since) if armed_since is not None else window_start
    counted = _COUNT.first(conn, {"org": organization_id, "since": since})
    recent = counted["n"] + 1
    if not rules.count_alone_allows(settings, recent):
        population = _population(
            conn, organization_id, state, window_start, now, counted["left"] or 0
        )
        if rules.trips(settings, recent, population):
            return Verdict(
                True,
                tripped=True,
                deprovisionings=recent,
                threshold=rules.threshold(settings, population),
                window_minutes=settings.window_minutes,
            )
    _COUNTED.execute(
        conn, {"organization_id": organization_id, "occurred_at": now, "left_active": left_active}
    )
    return _APPLY


def hold(conn: Connection, organization_id: int, **change: Any) -> None:
    """Keep a deprovisioning's effects (see ``GuardHeldChange`` for the fields)."""
    conn.execute(insert(HELD).values(organization_id=organization_id, **change))


def reverse_role_losses(conn: Connection, organization_id: int, user_ids: list[str]) -> set[str]:
    """The IdP gave users a role-granting group again: the held losses of their last one
    are dropped, with their events. Which users had one (one read when none is held)."""
    held = {
        row["user_id"]
        for row in _ROLE_LOSSES_HELD.rows(conn, {"org": organization_id, "kind": ROLE_LOSS})
    }
    reversed_ = held.intersection(user_ids)
    for user_id in reversed_:
        _REVERSE_ROLE_LOSS.execute(
            conn, {"org": organization_id, "user": user_id, "kind": ROLE_LOSS}
        )
    return reversed_


def reverse(conn: Connection, organization_id: int, user_id: str) -> int:
    """The IdP took a held deprovisioning back (reactivated the user): its held changes and
    their events are dropped; how many."""
    return _REVERSE.execute(conn, {"org": organization_id, "user": user_id})


@dataclass(frozen=True)
class Hold:
    """A user whose deprovisioning is held: the role they keep until it is allowed."""

    role_before: str | None


def held_roles_of(user_id: str, organization_id: int) -> Select:
    """The roles before the user's held changes, oldest first: for a query to embed."""
    return (
        select(HELD.c.role_before)
        .where(HELD.c.organization_id == organization_id, HELD.c.user_id == user_id)
        .order_by(HELD.c.id)
    )


def hold_of(user_id: str, organization_id: int) -> Hold | None:
    """The user's hold, if any (the first held change's role: the one before them all)."""
    row = db.session.execute(
        select(HELD.c.role_before)
        .where(HELD.c.organization_id == organization_id, HELD.c.user_id == user_id)
        .order_by(HELD.c.id)
        .limit(1)
    ).first()
    return None if row is None else Hold(row.role_before)


@dataclass(frozen=True)
class Banner:
    """What every admin page says while changes are held."""

    held: int
    since: datetime
    settings: rules.Settings
    #: The threshold as it stands: over the active users and those held (active before).
    threshold: int


def banner(organization_id: int) -> Banner | None:
    """None while nothing is held (one indexed read: the usual case)."""
    row = db.session.execute(
        select(func.count(), func.min(HELD.c.occurred_at)).where(
            HELD.c.organization_id == organization_id
        )
    ).first()
    if row is None or not row[0]:
        return None
    active = _active_users(db.session.connection(), organization_id)
    settings = settings_of(organization_id)
    return Banner(row[0], row[1], settings, rules.threshold(settings, active + row[0]))


def held_changes(organization_id: int) -> list[GuardHeldChange]:
    """The organization's held changes, in the order they happened."""
    return list(
        db.session.scalars(
            select(GuardHeldChange)
            .where(GuardHeldChange.organization_id == organization_id)
            .order_by(GuardHeldChange.id)
        )
    )


@dataclass(frozen=True)
class Decision:
    """One decision as the guard page lists it: its changes gathered."""

    decision: str
    actor: str
    decided_at: datetime
    users: list[str]


def decisions(organization_id: int, limit: int = 20) -> list[Decision]:
    """The latest decisions, newest first (the rows of the last 2,000 changes decided)."""
    rows = db.session.scalars(
        select(GuardDecision)
        .where(GuardDecision.organization_id == organization_id)
        .order_by(GuardDecision.id.desc())
        .limit(2000)
    )
    rv: list[Decision] = []
    for row in rows:
        last = rv[-1] if rv else None
        key = (row.decision, row.actor, row.decided_at)
        if last is not None and (last.decision, last.actor, last.decided_at) == key:
            last.users.append(row.user_name)
        elif len(rv) < limit:
            rv.append(Decision(row.decision, row.actor, row.decided_at, [row.user_name]))
        else:
            break
    return rv


def settings_of(organization_id: int) -> rules.Settings:
    return read_state(db.session.connection(), organization_id).settings


def save_settings(organization_id: int, settings: rules.Settings) -> None:
    """Store the organization's settings (the caller commits)."""
    row = db.session.get(GuardSettings, organization_id)
    if row is None:
        row = GuardSettings(organization_id=organization_id)
        db.session.add(row)
    row.enabled = settings.enabled
    row.count = settings.count
    row.percent = settings.percent
    row.window_minutes = settings.window_minutes


def _record(
    organization_id: int, decision: str, actor: str, changes: list[GuardHeldChange]
) -> None:
    now = utcnow()
    db.session.add_all(
        GuardDecision(
            organization_id=organization_id,
            decision=decision,
            actor=actor,
            decided_at=now,
            user_id=c.user_id,
            user_name=c.user_name,
            kind=c.kind,
            request_id=c.request_id,
        )
        for c in changes
    )


def keep_holding(organization_id: int, actor: str) -> int:
    """Record that the admin keeps the held changes (the caller commits); how many."""
    held = held_changes(organization_id)
    _record(organization_id, "keep_holding", actor, held)
    return len(held)


def decisions_of_request(organization_id: int, request_id: str) -> list[GuardDecision]:
    """The decisions about the held change a SCIM request made (its log entry shows them)."""
    return list(
        db.session.scalars(
            select(GuardDecision)
            .where(
                GuardDecision.organization_id == organization_id,
                GuardDecision.request_id == request_id,
            )
            .order_by(GuardDecision.id)
        )
    )


def held_of_request(organization_id: int, request_id: str) -> GuardHeldChange | None:
    return db.session.scalars(
        select(GuardHeldChange).where(
            GuardHeldChange.organization_id == organization_id,
            GuardHeldChange.request_id == request_id,
        )
    ).first()


def release(
    organization_id: int,
    actor: str,
    *,
    ids: list[int] | None = None,
    user_id: str | None = None,
) -> int:
    """Apply held effects now, in the order they happened (the caller commits): the user's
    console sessions end, then the held events are written into the events stream with new
    sequence numbers, their original ``occurred_at`` and ``data.held_since``. All of them
    (``ids`` and ``user_id`` None), the given ones, or one user's. The guard re-arms once
    nothing is held. How many were released."""
    from ..console.sessions import end_sessions_of
    from ..events.envelope import Draft
    from ..events.envelope import rfc3339
    from ..events.store import write_events
    from ..events.types import GUARD_RELEASED

    conn = db.session.connection()
    lock_organization(conn, organization_id)
    chosen = held_changes(organization_id)
    if ids is not None:
        chosen = [c for c in chosen if c.id in set(ids)]
    if user_id is not None:
        chosen = [c for c in chosen if c.user_id == user_id]
    if not chosen:
        return 0
    for change in chosen:
        accounts = db.session.scalars(
            select(ConsoleUser.id).where(
                ConsoleUser.organization_id == organization_id,
                ConsoleUser.scim_user_id == change.user_id,
            )
        ).all()
        for account_id in accounts:
            end_sessions_of(account_id)
        drafts = [
            Draft(e["type"], {**e["data"], "held_since": rfc3339(change.occurred_at)})
            for e in change.events
        ]
        write_events(
            conn,
            organization_id,
            drafts,
            request_id=change.request_id,
            actor=change.token_name,
            now=change.occurred_at,
        )
    decision = "allow_all" if ids is None and user_id is None else "allow_selected"
    _record(organization_id, decision, actor, chosen)
    conn.execute(delete(HELD).where(HELD.c.id.in_([c.id for c in chosen])))
    still_held = conn.execute(
        select(func.count()).select_from(HELD).where(HELD.c.organization_id == organization_id)
    ).scalar_one()
    if not still_held:
        _rearm(organization_id)
    # Not held itself: an operator's alerting hears of the decision at once.
    released = {"released": len(chosen), "still_held": still_held, "decision": decision}
    write_events(
        conn,
        organization_id,
        [Draft(GUARD_RELEASED, released)],
        request_id=None,
        actor=actor,
    )
    return len(chosen)


def _rearm(organization_id: int) -> None:
    """Nothing is held: count afresh from now (what was allowed is not counted again)."""
    row = db.session.get(GuardSettings, organization_id)
    if row is None:
        defaults = rules.DEFAULTS
        row = GuardSettings(
            organization_id=organization_id,
            enabled=defaults.enabled,
            count=defaults.count,
            percent=defaults.percent,
            window_minutes=defaults.window_minutes,
        )
        db.session.add(row)
    row.armed_since = utcnow()
