"""The record of one SCIM request, built along the request and stored as its log entry.

One object per request (``current()``): tracing opens it (request id, start time), the
bearer check adds the token, views and the store describe the request (resource,
operation), record each change (attribute before → after; members added/removed), each
normalisation of the IdP's dialect (``op "Replace" read as "replace"``) and each warning
(skipped unknown member ids), the error handlers add the error. The request log
(``willow.monitor.capture``) turns it into a row, whether the request succeeded or not.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import g
from flask import has_app_context

_VERSION_4 = (0x4 << 76) | (0x2 << 62)  # the version and variant bits of a UUID 4
_KEEP = ~((0xF << 76) | (0x3 << 62))


def new_request_id() -> str:
    """A random version-4 UUID as 32 hex digits. The id only names a request (it is no
    secret), so Python's generator, seeded from the OS once, serves: ``uuid4`` asks the
    kernel for random bytes on every request."""
    return f"{(random.getrandbits(128) & _KEEP) | _VERSION_4:032x}"


@dataclass
class Audit:
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    #: The bearer token the request named, also when it was refused (revoked, expired).
    token_id: int | None = None
    token_name: str | None = None
    organization_id: int | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    #: userName or displayName, so the log can be searched and read by name.
    resource_label: str | None = None
    #: create, update, deactivate, reactivate, delete, membership, query, read, ...
    operation: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: Every member id a group change added and removed (``changes`` names at most a few
    #: hundred): the provisioning events name each one (willow/events).
    members_added: list[str] = field(default_factory=list)
    members_removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The SCIM error answered (``willow.scim.protocol.errors.ScimError``), if any.
    error: Any = None
    #: Class name of an unexpected exception (a 500), for the log's error detail.
    exception_name: str | None = None
    #: Why the bearer check refused the request (``willow.scim.refusal.Refusal``), if it did.
    refusal: Any = None
    #: A 429 past a limit (``willow.server.rate_limit.CountedRefusal``): counted, not logged alone.
    counted: Any = None
    #: Set once the log row was written in the request's own transaction (a change).
    logged: bool = False


def start(arrived: float | None = None) -> Audit:
    """Open the record of the current request; ``arrived`` (``time.perf_counter()``) when
    it reached the server, if it waited for its turn before this (``request_gate``)."""
    rv = g.scim_audit = Audit() if arrived is None else Audit(started=arrived)
    return rv


def current() -> Audit:
    """The record of the current request (a throwaway one outside a request)."""
    if not has_app_context():
        return Audit()
    audit = g.get("scim_audit")
    if audit is None:
        audit = g.scim_audit = Audit()
    return audit


def describe(
    *,
    resource_type: str | None = None,
    resource_id: str | None = None,
    label: str | None = None,
    operation: str | None = None,
) -> None:
    audit = current()
    if resource_type is not None:
        audit.resource_type = resource_type
    if resource_id is not None:
        audit.resource_id = resource_id
    if label is not None:
        audit.resource_label = label
    if operation is not None:
        audit.operation = operation


def change(attribute: str, before: Any, after: Any) -> None:
    current().changes.append({"attribute": attribute, "before": before, "after": after})


def members_changed(added: list[dict], removed: list[dict]) -> None:
    """Members added and removed, each as ``{"value": id, "display": name}``."""
    if added or removed:
        current().changes.append({"attribute": "members", "added": added, "removed": removed})


def member_ids(added: list[str], removed: list[str]) -> None:
    """Every member id added and removed by the request, in the order applied."""
    record = current()
    record.members_added, record.members_removed = added, removed


def note(text: str) -> None:
    current().notes.append(text)


def warn(text: str) -> None:
    current().warnings.append(text)
