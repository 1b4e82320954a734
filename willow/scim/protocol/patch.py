"""PATCH for Users (RFC 7644 §3.5.2), applied to the canonical resource dict.

Pure: the caller loads the user as its canonical dict (``willow.scim.store.user_mapping``),
calls :func:`apply_patch` and writes the result back. Operations apply in order and all
or nothing: any error raises before a result exists. Values are checked and
canonicalised by ``willow.scim.protocol.normalize``, so a PATCH can store nothing that a PUT could
not, and the result is validated as a whole at the end (``userName`` required, one
``primary`` per attribute).

Choices where the RFC or the IdPs leave room:

* Without a path, each key of the value object is itself a path: ``active``,
  ``name.givenName``, ``urn:…:enterprise:2.0:User:employeeNumber``, or a schema URN
  whose object holds that schema's attributes (Entra, RFC 7644 §3.5.2.1/§3.5.2.3). Every
  other attribute is left alone; a no-path replace never means "replace the user".
* A complex single-valued attribute (``name``, ``manager``) is merged by both add and
  replace: sub-attributes not in the value are left unchanged (RFC 7644 §3.5.2.3), and
  one given as null in a replace is removed (RFC 7643 §2.5: null means unassigned).
* A value-filter path that matches no element (``emails[type eq "work"].value``) creates
  the element for add and replace, from the filter's ``eq`` conditions plus the value:
  Entra sends ``Replace`` for values that do not exist yet. RFC 7644 §3.5.2.3 would
  answer ``noTarget``; that is kept for filters that are not ``eq`` conditions joined by
  ``and``, since no element can be built from them.
* Remove is idempotent: a filter or value list that matches nothing, or an attribute
  that has no value, changes nothing and is noted (RFC 7644 §3.5.2.2 does not require
  ``noTarget`` there, and IdPs retry removes that already happened).
* ``remove`` of a multi-valued attribute with a value list (Entra's shape) removes only
  the elements that have every sub-attribute given in one of the listed values.
* ``add`` to a multi-valued attribute skips an element that an existing one already
  contains (IdPs re-send what they added), and setting ``primary: true`` on one element
  clears it on the others (RFC 7644 §3.5.2).
* ``id`` equal to the resource's id, ``meta``, ``groups`` and ``schemas`` (also inside an
  extension's object) are ignored with a note; ``password`` is discarded with a note; a
  different ``id`` and the removal of ``userName`` are ``mutability`` errors. An unknown
  core attribute is ``invalidPath``; an unknown extension is ignored with a note.
* Removing ``active`` (or replacing it with null) is a ``mutability`` error. RFC 7644
  §3.5.2.2 would leave it unassigned, but a Willow account is always active or not:
  the column has no third state, and reading "unassigned" as either value would
  silently (de)activate someone. (POST without ``active`` creates an active user; PUT
  without it keeps the current value.)
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import InvalidPath
from .errors import InvalidValue
from .errors import Mutability
from .errors import NoTarget
from .errors import PayloadTooLarge
from .filter import And
from .filter import Compare
from .filter import Filter
from .filter import Not
from .filter import Or
from .filter import PatchPath
from .filter import ValuePath
from .filter import matches
from .filter import operands
from .filter import parse_patch_path
from .messages import PatchOperation
from .normalize import add_note
from .normalize import check_primary
from .normalize import check_value_count
from .normalize import find_schema_attribute
from .normalize import normalize_resource
from .normalize import normalize_single
from .normalize import normalize_value
from .schema import RESOURCE_SCHEMAS
from .schema import Attribute
from .schema import Schema
from .schema import schema_by_urn
from .schema import split_urn

#: Optional in the schema, but never unassigned in Willow (see the module docstring).
ALWAYS_ASSIGNED = frozenset({"active"})

#: Most element comparisons one PATCH may make: a value-filter path tests each element of
#: the attribute against each comparison of its filter, a path like ``emails.display``
#: touches each element, and a remove with a value list (Entra) compares each element
#: with each listed value. Without a bound, 1,000 operations with a two-term filter on a
#: user's 1,000 emails took 5.3 s. IdP requests make tens (a few operations on a few
#: emails); at this bound a PATCH spends well under a second comparing.
MAX_WORK = 200_000


def apply_patch(
    resource_type: str,
    resource: dict,
    operations: list[PatchOperation],
    *,
    resource_id: str,
) -> tuple[dict, list[str]]:
    """Apply PATCH operations to a canonical resource dict (RFC 7644 §3.5.2).

    Returns the new canonical dict and notes for the request log; ``resource`` is not
    modified. Raises a ``ScimError`` (``invalidPath``, ``noTarget``, ``mutability``,
    ``invalidValue``) if any operation cannot be applied, and then nothing is applied.
    """
    patcher = _Patcher(resource_type, copy.deepcopy(resource), resource_id)
    for operation in operations:
        patcher.apply(operation)
    rv, _ = normalize_resource(resource_type, patcher.doc)
    return rv, patcher.notes


class _Patcher:
    def __init__(self, resource_type: str, doc: dict, resource_id: str):
        self.resource_type = resource_type
        self.core, self.extensions = RESOURCE_SCHEMAS[resource_type]
        self.doc = doc
        self.resource_id = resource_id
        self.notes: list[str] = []
        #: Element comparisons made so far (see :data:`MAX_WORK`).
        self.work = 0
        #: Per multi-valued attribute, an index of its elements for ``add``, kept while
        #: only ``add`` operations change the list (see :class:`_Elements`).
        self.elements: dict[tuple[str | None, str], _Elements] = {}

    def note(self, text: str) -> None:
        add_note(self.notes, text)

    def spend(self, comparisons: int) -> None:
        """Count the element comparisons an operation is about to make; refuse the request
        (before making them) past :data:`MAX_WORK`."""
        self.work += comparisons
        if self.work > MAX_WORK:
            raise PayloadTooLarge(
                f"The PATCH would compare more than {MAX_WORK:,} multi-valued attribute "
                "values with its paths and values; send fewer operations per request."
            )

    # --- operations -------------------------------------------------------------------

    def apply(self, operation: PatchOperation) -> None:
        op, value = operation.op, operation.value
        if operation.path is None:
            self.apply_without_path(op, value)
            return
        if op == "replace" and value is None:
            # RFC 7644 §3.5.2: null and unassigned are the same state.
            self.note(f"replace of {operation.path} with null read as remove")
            op = "remove"
        self.apply_path(op, operation.path, value, value_given=operation.value is not None)

    def apply_without_path(self, op: str, value: Any) -> None:
        """RFC 7644 §3.5.2.1/§3.5.2.3: the value holds the attributes to add or replace."""
        if op == "remove":
            raise NoTarget("A remove operation needs a path (RFC 7644 §3.5.2.2).")
        if not isinstance(value, dict):
            raise InvalidValue(f"Without a path, the {op} value must be an object of attributes.")
        if value:
            self.note(f"no-path {op} read as {op} of {', '.join(value)}")
        for key, item in value.items():
            if key.lower() == "schemas":
                self.note("schemas in a patch value ignored")
                continue
            schema, rest = split_urn(key, self.resource_type)
            if schema is not None and not rest:
                self.apply_schema_object(op, schema, item)
                continue
            if schema is None and ":" in key:
                # Another schema's key (urn:okta:…, http://schemas.microsoft.com/…).
                self.note(f"unknown extension {key} ignored")
                continue
            if op == "replace" and item is None:
                self.apply_path("remove", key, None, value_given=False)
            else:
                self.apply_path(op, key, item, value_given=True)

    def apply_schema_object(self, op: str, schema: Schema, value: Any) -> None:
        """A schema URN as the target: its attributes, given as one object."""
        if op == "add" and value is None:
            self.note(f"add of {schema.id} with null ignored")
            return
        if op == "remove" or value is None:
            if schema is self.core:
                raise Mutability("The core schema's attributes cannot be removed as a whole.")
            if self.doc.pop(schema.id, None) is None:
                self.note(f"{schema.id} had no value to remove")
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"'{schema.id}' must be an object of {schema.name} attributes.")
        for key, item in value.items():
            if key.lower() == "schemas":
                # A client serialising the extension as a model sends its URN along.
                self.note("schemas in a patch value ignored")
                continue
            path = key if schema is self.core else f"{schema.id}:{key}"
            if op == "replace" and item is None:
                self.apply_path("remove", path, None, value_given=False)
            else:
                self.apply_path(op, path, item, value_given=True)

    def apply_path(self, op: str, text: str, value: Any, *, value_given: bool) -> None:
        path = parse_patch_path(text)
        if path.uri is None and path.attr.lower() == "schemas":
            self.note("schemas in a patch path ignored")
            return
        schema = self.core
        if path.uri is not None:
            found = schema_by_urn(path.uri)
            if found is None or found not in (self.core, *self.extensions):
                self.note(f"unknown extension {path.uri} ignored")
                return
            schema = found
            if not path.attr:
                self.apply_schema_object(op, schema, value)
                return
        attr = find_schema_attribute(schema, self.core, path.attr)
        if attr is None:
            raise InvalidPath(f"{text!r} does not name an attribute of a {self.resource_type}.")
        label = attr.name if schema is self.core else f"{schema.id}:{attr.name}"
        if attr.name == "id":
            self.check_id(op, path, value)
            return
        if attr.name == "password":
            self.note("password discarded")
            return
        if attr.mutability == "readOnly":
            self.note(f"read-only attribute {attr.name} ignored")
            return
        if op == "add" and value is None:
            self.note(f"add of {label} with null ignored")
            return
        target = _Target(self, schema, attr, label)
        if attr.multi_valued:
            self.apply_multi(op, target, path, value, value_given=value_given)
        else:
            if path.value_filter is not None:
                raise InvalidPath(f"{label} is single-valued; a value filter does not apply.")
            self.apply_single(op, target, path.sub_attr, value)

    def check_id(self, op: str, path: PatchPath, value: Any) -> None:
        if op != "remove" and path.sub_attr is None and value == self.resource_id:
            self.note("id equal to the resource's id ignored")
            return
        raise Mutability("'id' is assigned by the server and cannot be changed.")

    # --- single-valued ----------------------------------------------------------------

    def apply_single(self, op: str, target: _Target, sub_name: str | None, value: Any) -> None:
        attr, label = target.attr, target.label
        if sub_name is not None:
            sub = _sub_attribute(attr, sub_name, label)
            sub_label = f"{label}.{sub.name}"
            current = target.get() or {}
            if op == "remove":
                if sub.name not in current:
                    self.note(f"{sub_label} had no value to remove")
                    return
                current.pop(sub.name)
            else:
                current[sub.name] = normalize_single(sub, value, label=sub_label, notes=self.notes)
            target.set(current)
            return
        if op == "remove":
            if attr.required:
                raise Mutability(f"'{label}' is required and cannot be removed.")
            if attr.name in ALWAYS_ASSIGNED and target.key is None:
                raise Mutability(
                    f"'{label}' cannot be removed: every account is active or not; "
                    "replace it with true or false."
                )
            if target.get() is None:
                self.note(f"{label} had no value to remove")
            target.set(None)
            return
        if op == "replace" and _names_nobody(attr, value):
            # Entra ID clears the manager with "" (or {"value": ""}): an empty id names no
            # one, so the attribute is removed rather than kept as {"value": ""}.
            self.note(f"{label} replaced with an empty value: removed")
            target.set(None)
            return
        new = normalize_value(attr, value, label=label, notes=self.notes)
        if attr.type == "complex" and isinstance(value, dict):
            # RFC 7644 §3.5.2.3: sub-attributes not in the value are left unchanged; one
            # given as null is replaced by "unassigned" (RFC 7643 §2.5).
            merged = {**(target.get() or {}), **(new or {})}
            if op == "replace":
                for key, item in value.items():
                    sub = attr.sub(key)
                    if item is None and sub is not None and sub.name in merged:
                        del merged[sub.name]
                        self.note(f"{label}.{sub.name} replaced with null: removed")
            target.set(merged or None)
            return
        if new is None:
            return  # an empty object: nothing to add or replace
        target.set(new)

    # --- multi-valued -----------------------------------------------------------------

    def apply_multi(
        self, op: str, target: _Target, path: PatchPath, value: Any, *, value_given: bool
    ) -> None:
        attr, label = target.attr, target.label
        sub = _sub_attribute(attr, path.sub_attr, label) if path.sub_attr is not None else None
        if path.value_filter is not None:
            _check_filter(attr, path.value_filter, label)
        if op == "add" and path.value_filter is None and sub is None:
            self.add_elements(target, value)
            return
        items: list[dict] = list(target.get() or [])
        touched: list[dict] = []

        if path.value_filter is None and sub is None:
            if op == "remove":
                items = self.remove_elements(attr, items, value, label, value_given)
            else:
                items = normalize_value(attr, value, label=label, notes=self.notes) or []
                touched = items
        else:
            # Each element is tested against each comparison of the filter.
            self.spend(len(items) * (_terms(path.value_filter) if path.value_filter else 1))
            case_exact = _case_exact(attr)
            selected = [
                e
                for e in items
                if path.value_filter is None or matches(path.value_filter, e, case_exact)
            ]
            if op == "remove":
                items = self.remove_selected(items, selected, sub, label)
            elif sub is not None:
                sub_value = normalize_single(
                    sub, value, label=f"{label}.{sub.name}", notes=self.notes
                )
                if not selected:
                    created = self.create_element(attr, path, label, {sub.name: value})
                    items.append(created)
                    selected = [created]
                for element in selected:
                    element[sub.name] = sub_value
                touched = selected
            else:
                element_value = normalize_single(attr, value, label=label, notes=self.notes)
                if not selected:
                    created = self.create_element(attr, path, label, value)
                    items.append(created)
                    touched = [created]
                else:
                    for element in selected:
                        if op == "replace":
                            # RFC 7644 §3.5.2.3: all matching record values are replaced.
                            element.clear()
                        element.update(copy.deepcopy(element_value or {}))
                    touched = selected
        check_value_count(items, label)
        self.settle_primary(items, touched, label)
        target.set(items or None)

    def add_elements(self, target: _Target, value: Any) -> None:
        """``add`` to a multi-valued attribute without a filter: append the elements that
        no existing one already contains, and move ``primary`` to a new one that sets it.

        Linear in the elements added, not in those already there: the list grows in place
        and an index (:class:`_Elements`) answers "already present?" and "which is
        primary?" across consecutive ``add`` operations, so 5,000 of them cost 5,000
        small steps instead of 5,000 scans of a growing list."""
        attr, label = target.attr, target.label
        new = normalize_value(attr, value, label=label, notes=self.notes) or []
        items = target.get() or []
        key = (target.key, attr.name)
        index = self.elements.get(key)
        if index is None or index.items is not items:
            index = self.elements[key] = _Elements(items)
        added: list[dict] = []
        for element in new:
            if index.contains(element):
                self.note(f"{label} value already present; not added twice")
            else:
                index.add(element)
                added.append(element)
        check_value_count(items, label)
        check_primary(added, label)
        if any(e.get("primary") is True for e in added):
            for element in index.take_primary(added):
                element.pop("primary")
                self.note(f"primary moved to the new {label} value")
        target.set(items or None)
        if target.get() is not items:
            self.elements.pop(key, None)  # empty: the attribute is gone

    def remove_elements(
        self, attr: Attribute, items: list[dict], value: Any, label: str, value_given: bool
    ) -> list[dict]:
        """Remove all values, or with a value list (Entra), only the listed ones."""
        if not value_given:
            if not items:
                self.note(f"{label} had no value to remove")
            return []
        listed = normalize_value(attr, value, label=label, notes=self.notes) or []
        self.spend(len(items) * len(listed))
        kept = [e for e in items if not any(_has_all(e, t, attr) for t in listed)]
        if len(kept) == len(items):
            self.note(f"no {label} value matched the values to remove")
        return kept

    def remove_selected(
        self, items: list[dict], selected: list[dict], sub: Attribute | None, label: str
    ) -> list[dict]:
        if not selected:
            self.note(f"no {label} value matched the path; nothing removed")
            return items
        if sub is None:
            chosen = {id(e) for e in selected}
            return [e for e in items if id(e) not in chosen]
        for element in selected:
            element.pop(sub.name, None)
        return [e for e in items if e]

    def create_element(self, attr: Attribute, path: PatchPath, label: str, value: Any) -> dict:
        """The element a value-filter path names, built from its ``eq`` conditions."""
        if not isinstance(value, dict):
            raise InvalidValue(f"'{label}' values must be objects.")
        conditions = _eq_conditions(path.value_filter) if path.value_filter else {}
        if conditions is None:
            raise NoTarget(
                f"No {label} value matches the filter, and one cannot be created from it: "
                "only eq conditions joined by 'and' describe a new value."
            )
        # Canonicalised apart: the filter may say "Type" where the value says "type".
        from_filter = normalize_single(attr, conditions, label=label, notes=self.notes)
        from_value = normalize_single(attr, value, label=label, notes=self.notes)
        self.note(f"{label} value created from the path filter")
        return {**(from_filter or {}), **(from_value or {})}

    def settle_primary(self, items: list[dict], touched: list[dict], label: str) -> None:
        """RFC 7644 §3.5.2: setting primary on one value clears it on the others."""
        # Sets of ids, not `in` on lists: an operation may touch every element, and list
        # membership compares dicts one by one (100 such operations on 1,000 emails took
        # 1.3 s; 1,000 now take 0.5 s).
        present = {id(e) for e in items}
        check_primary([e for e in touched if id(e) in present], label)
        new = {id(e) for e in touched if e.get("primary") is True}
        if not new:
            return
        for element in items:
            if element.get("primary") is True and id(element) not in new:
                element.pop("primary")
                self.note(f"primary moved to the new {label} value")


class _Elements:
    """The elements of one multi-valued attribute, indexed by sub-attribute value.

    ``add`` skips an element that an existing one contains (every sub-attribute equal):
    the candidates are the elements sharing the new element's rarest sub-attribute value,
    found by a dict lookup, instead of every element. The index is valid while its list is
    the attribute's value and only :meth:`add` changes it; any other operation builds a new
    list, and the next ``add`` builds a new index (one pass).
    """

    def __init__(self, items: list[dict]):
        self.items = items
        self.by_value: dict[tuple[str, Any], list[dict]] = {}
        self.primary: list[dict] = []
        for element in items:
            self._index(element)

    def _index(self, element: dict) -> None:
        for pair in element.items():
            if _hashable(pair[1]):
                self.by_value.setdefault(pair, []).append(element)
        if element.get("primary") is True:
            self.primary.append(element)

    def contains(self, new: dict) -> bool:
        """Whether an element has every sub-attribute of ``new`` with an equal value."""
        if not new:
            return bool(self.items)
        pairs = [pair for pair in new.items() if _hashable(pair[1])]
        # Sub-attribute values are strings and booleans after normalisation; a value that
        # cannot be hashed (none known) falls back to scanning every element.
        candidates = (
            min((self.by_value.get(p, ()) for p in pairs), key=len) if pairs else self.items
        )
        return any(all(e.get(k) == v for k, v in new.items()) for e in candidates)

    def add(self, element: dict) -> None:
        self.items.append(element)
        self._index(element)

    def take_primary(self, added: list[dict]) -> list[dict]:
        """The elements that were primary before ``added``; the added primary becomes the
        only one recorded."""
        chosen = [e for e in added if e.get("primary") is True]
        previous = [e for e in self.primary if not any(e is c for c in chosen)]
        self.primary = chosen
        return previous


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class _Target:
    """Where an attribute lives in the document: top level, or inside its extension."""

    def __init__(self, patcher: _Patcher, schema: Schema, attr: Attribute, label: str):
        self.doc = patcher.doc
        self.key = schema.id if schema is not patcher.core else None
        self.attr = attr
        self.label = label

    def get(self) -> Any:
        """The value itself, not a copy: ``apply_patch`` works on its own deep copy of the
        resource and returns nothing when an operation fails, so operations may change it
        in place. (A copy per operation made 5,000 ``add`` operations quadratic.)"""
        container = self.doc if self.key is None else self.doc.get(self.key) or {}
        return container.get(self.attr.name)

    def set(self, value: Any) -> None:
        if self.key is None:
            container = self.doc
        else:
            container = self.doc.setdefault(self.key, {})
        if value is None or value == {} or value == []:
            container.pop(self.attr.name, None)
        else:
            container[self.attr.name] = value
        if self.key is not None and not container:
            self.doc.pop(self.key)


def _names_nobody(attr: Attribute, value: Any) -> bool:
    """A reference-like complex value (one with a ``value`` sub-attribute, such as the
    manager) whose id is the empty string."""
    if attr.type != "complex" or attr.multi_valued or attr.sub("value") is None:
        return False
    if isinstance(value, dict):
        return any(str(k).lower() == "value" and v == "" for k, v in value.items())
    return value == ""


def _sub_attribute(attr: Attribute, name: str | None, label: str) -> Attribute:
    sub = attr.sub(name or "") if attr.type == "complex" else None
    if sub is None:
        raise InvalidPath(f"{label} has no sub-attribute {name!r}.")
    return sub


def _terms(node: Filter) -> int:
    """How many comparisons a value filter makes per element."""
    if isinstance(node, And | Or):
        return sum(_terms(term) for term in operands(node))
    if isinstance(node, Not):
        return _terms(node.expr)
    if isinstance(node, ValuePath):
        return _terms(node.filter)
    return 1


def _case_exact(attr: Attribute):
    def case_exact(name: str) -> bool:
        sub = attr.sub(name)
        return bool(sub and sub.case_exact)

    return case_exact


def _check_filter(attr: Attribute, node: Filter, label: str) -> None:
    """Every name in a value filter must be a sub-attribute of ``attr``."""
    if isinstance(node, And | Or):
        for term in operands(node):
            _check_filter(attr, term, label)
    elif isinstance(node, Not):
        _check_filter(attr, node.expr, label)
    elif isinstance(node, ValuePath):
        raise InvalidPath(f"A value filter on {label} cannot contain another.")
    else:
        _sub_attribute(attr, node.path.attr, label)


def _eq_conditions(node: Filter) -> dict | None:
    """``type eq "work" and primary eq true`` → ``{"type": "work", "primary": True}``;
    None when the filter is anything else."""
    terms = operands(node) if isinstance(node, And) else [node]
    rv: dict = {}
    for term in terms:
        if not isinstance(term, Compare) or term.op != "eq" or term.value is None:
            return None
        rv[term.path.attr] = term.value
    return rv


def _has_all(element: dict, template: dict, attr: Attribute) -> bool:
    """Whether ``element`` has every sub-attribute of ``template`` with an equal value
    (strings compared case-insensitively unless the sub-attribute is caseExact)."""
    for name, wanted in template.items():
        actual = element.get(name)
        sub = attr.sub(name)
        if isinstance(actual, str) and isinstance(wanted, str) and not (sub and sub.case_exact):
            actual, wanted = actual.lower(), wanted.lower()
        if actual != wanted:
            return False
    return True


def diff(before: dict, after: dict) -> list[dict]:
    """What changed between two canonical dicts, attribute by attribute, for the request
    log: ``[{"attribute": "name.givenName", "before": "A", "after": "B"}, ...]``.

    Complex attributes are compared per sub-attribute; multi-valued attributes as whole
    lists. ``password`` never appears.
    """
    rv: list[dict] = []
    _diff_into(rv, "", before or {}, after or {})
    return rv


def _diff_into(rv: list[dict], prefix: str, before: dict, after: dict) -> None:
    keys = list(before) + [k for k in after if k not in before]
    for key in keys:
        if key.lower() == "password":
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        name = f"{prefix}{key}"
        if isinstance(old, dict | None) and isinstance(new, dict | None):
            separator = ":" if ":" in key else "."
            _diff_into(rv, name + separator, old or {}, new or {})
        else:
            rv.append({"attribute": name, "before": old, "after": new})
