"""What a SCIM request did, collected while it runs and stored on its log entry.

Views and services describe the request here (resource, operation), record each change
(attribute before → after; members added/removed), each normalisation of the IdP's
dialect (``op "Replace" read as "replace"``) and each warning (skipped unknown member
ids). The request log (monitor.capture) reads it after the response is built, whether the
request succeeded or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import g
from flask import has_app_context


@dataclass
class Audit:
    resource_type: str | None = None
    resource_id: str | None = None
    #: userName or displayName, so the log can be searched and read by name.
    resource_label: str | None = None
    #: create, update, deactivate, reactivate, delete, membership, query, read, ...
    operation: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def current() -> Audit:
    """The audit record of the current request (a throwaway one outside a request)."""
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


def note(text: str) -> None:
    current().notes.append(text)


def warn(text: str) -> None:
    current().warnings.append(text)
