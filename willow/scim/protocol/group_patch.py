"""Group PATCH (RFC 7644 §3.5.2) planned as steps the service applies as SQL deltas.

A group may have 100,000 members, so the planner never sees the member list: it turns
the operations into ordered steps (set an attribute, add these ids, remove these ids,
clear, replace with these ids), and the service runs each as an INSERT or DELETE on the
membership rows. Every membership dialect in idp-traffic.md maps to a step:

* add ``path: "members"`` with one or many members → :class:`AddMembers` (deduplicated;
  re-adding a member is the service's no-op);
* remove ``members[value eq "id"]`` (Okta), also ``or`` of several → :class:`RemoveMembers`;
* remove ``members`` with a value list (Entra's default, JumpCloud) → :class:`RemoveMembers`
  of only those ids; an empty list removes nothing. It never clears the group;
* remove ``members`` without a value → :class:`ClearMembers` (RFC 7644 §3.5.2.2);
* replace ``members`` (including ``[]`` and null) → :class:`ReplaceMembers`;
* ``displayName`` and ``externalId``, with a path or as keys of a no-path value (Okta's
  rename carries the group's own ``id``, which is ignored when it is equal) →
  :class:`SetAttribute`.

Not supported: filters on ``members`` other than ``value eq`` (the planner cannot
resolve them without the member list) and patching member sub-attributes; both are
``invalidPath``. Unknown member ids are not the planner's business: the service skips
them and records a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from .errors import InvalidPath
from .errors import InvalidValue
from .errors import Mutability
from .errors import NoTarget
from .filter import Compare
from .filter import Filter
from .filter import Or
from .filter import operands
from .filter import parse_patch_path
from .messages import PatchOperation
from .normalize import MEMBERS
from .normalize import add_note
from .normalize import normalize_value
from .schema import GROUP
from .schema import schema_by_urn
from .schema import split_urn


@dataclass(frozen=True)
class SetAttribute:
    """Set ``displayName`` (never None) or ``externalId`` (None clears it)."""

    name: str
    value: str | None


@dataclass(frozen=True)
class AddMembers:
    ids: list[str]


@dataclass(frozen=True)
class RemoveMembers:
    ids: list[str]


@dataclass(frozen=True)
class ClearMembers:
    pass


@dataclass(frozen=True)
class ReplaceMembers:
    ids: list[str]


Step = SetAttribute | AddMembers | RemoveMembers | ClearMembers | ReplaceMembers


@dataclass
class GroupPatchPlan:
    steps: list[Step] = field(default_factory=list)
    #: How the request was read, for the request log.
    notes: list[str] = field(default_factory=list)


def plan_group_patch(group_id: str, operations: list[PatchOperation]) -> GroupPatchPlan:
    """The steps for a Group PATCH, in the order of the operations (RFC 7644 §3.5.2).

    Raises ``noTarget`` (remove without path), ``invalidPath`` (unknown attribute,
    unsupported filter), ``mutability`` (removing displayName, changing id) or
    ``invalidValue`` (a member without value, a blank displayName); nothing is applied then.
    """
    planner = _Planner(group_id)
    for operation in operations:
        planner.plan(operation)
    return planner.rv


class _Planner:
    def __init__(self, group_id: str):
        self.group_id = group_id
        self.rv = GroupPatchPlan()

    def note(self, text: str) -> None:
        add_note(self.rv.notes, text)

    def step(self, step: Step) -> None:
        self.rv.steps.append(step)

    def plan(self, operation: PatchOperation) -> None:
        op, value = operation.op, operation.value
        if operation.path is None:
            if op == "remove":
                raise NoTarget("A remove operation needs a path (RFC 7644 §3.5.2.2).")
            self.plan_object(op, value, "no-path")
            return
        path = parse_patch_path(operation.path)
        if path.uri is not None:
            if schema_by_urn(path.uri) is not GROUP:
                self.note(f"unknown extension {path.uri} ignored")
                return
            if not path.attr:
                if op == "remove":
                    raise Mutability("The Group schema's attributes cannot be removed as a whole.")
                self.plan_object(op, value, GROUP.id)
                return
        self.plan_attribute(op, path.attr, path.value_filter, path.sub_attr, value)

    def plan_object(self, op: str, value: Any, where: str) -> None:
        """A value object whose keys are attributes (RFC 7644 §3.5.2.1, §3.5.2.3)."""
        if not isinstance(value, dict):
            raise InvalidValue(f"Without a path, the {op} value must be an object of attributes.")
        if value:
            self.note(f"{where} {op} read as {op} of {', '.join(value)}")
        for key, item in value.items():
            if key.lower() == "schemas":
                self.note("schemas in a patch value ignored")
                continue
            schema, rest = split_urn(key, "Group")
            if schema is None and ":" in key:
                self.note(f"unknown extension {key} ignored")
                continue
            if not rest:
                self.plan_object(op, item, GROUP.id)
                continue
            path = parse_patch_path(rest)
            self.plan_attribute(op, path.attr, path.value_filter, path.sub_attr, item)

    def plan_attribute(
        self,
        op: str,
        name: str,
        value_filter: Filter | None,
        sub_attr: str | None,
        value: Any,
    ) -> None:
        lowered = name.lower()
        if lowered == "members":
            self.plan_members(op, value_filter, sub_attr, value)
            return
        if lowered in ("meta", "schemas"):
            self.note(f"{name} in a group patch ignored")
            return
        if lowered not in ("displayname", "externalid", "id"):
            raise InvalidPath(f"{name!r} is not an attribute of a Group that PATCH can change.")
        if value_filter is not None or sub_attr is not None:
            raise InvalidPath(f"{name} is a single string; it has no sub-attributes or filter.")
        if lowered == "id":
            if op != "remove" and value == self.group_id:
                self.note("id equal to the group's id ignored")
                return
            raise Mutability("'id' is assigned by the server and cannot be changed.")
        if lowered == "displayname":
            if op == "remove" or value is None:
                raise Mutability("'displayName' is required and cannot be removed.")
            if not isinstance(value, str) or not value.strip():
                raise InvalidValue("'displayName' must be a non-empty string.")
            self.step(SetAttribute("displayName", value))
            return
        if op == "remove" or value is None:
            if op == "add":
                self.note("add of externalId with null ignored")
                return
            self.step(SetAttribute("externalId", None))
            return
        if not isinstance(value, str):
            raise InvalidValue("'externalId' must be a string.")
        self.step(SetAttribute("externalId", value))

    def plan_members(
        self, op: str, value_filter: Filter | None, sub_attr: str | None, value: Any
    ) -> None:
        if sub_attr is not None:
            raise InvalidPath("Member sub-attributes cannot be patched; add or remove members.")
        if value_filter is not None:
            if op != "remove":
                raise InvalidPath(f'A member filter is for remove; {op} takes path "members".')
            self.step(RemoveMembers(_filter_ids(value_filter)))
            return
        if op == "remove":
            if value is None:
                self.note("remove of members without a value removes every member")
                self.step(ClearMembers())
                return
            ids = self.member_ids(value)
            if ids:
                self.note("remove of members with a value list removes only those members")
                self.step(RemoveMembers(ids))
            else:
                self.note("remove of members with an empty list removes nothing")
            return
        ids = self.member_ids(value)
        if op == "replace":
            self.step(ReplaceMembers(ids))
        elif ids:
            self.step(AddMembers(ids))
        else:
            self.note("add of no members changes nothing")

    def member_ids(self, value: Any) -> list[str]:
        """The ids of member objects, checked like a POST body's members, deduplicated."""
        members = normalize_value(MEMBERS, value, label="members", notes=self.rv.notes) or []
        ids = list(dict.fromkeys(member["value"] for member in members))
        if len(ids) < len(members):
            self.note("repeated member ids counted once")
        return ids


def _filter_ids(node: Filter) -> list[str]:
    """The ids of ``value eq "a" or value eq "b"``; any other filter is refused."""
    terms = operands(node) if isinstance(node, Or) else [node]
    ids: list[str] = []
    for term in terms:
        if (
            not isinstance(term, Compare)
            or term.op != "eq"
            or term.path.attr.lower() != "value"
            or not isinstance(term.value, str)
        ):
            raise InvalidPath(
                'Only members[value eq "id"] filters, alone or joined by "or", '
                "can select members to remove."
            )
        ids.append(term.value)
    return list(dict.fromkeys(ids))
