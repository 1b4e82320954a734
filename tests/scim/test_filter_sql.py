"""Filters compiled to SQL and sortBy keys, run against SQLite and PostgreSQL.

Each case states which users (or groups) a filter returns from one small fixed data set,
so the two databases are held to the same answers.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from willow.scim.protocol.errors import InvalidFilter
from willow.scim.protocol.errors import InvalidValue
from willow.scim.protocol.filter import parse_filter
from willow.scim.store.filter_sql import compile_filter
from willow.scim.store.filter_sql import equality
from willow.scim.store.filter_sql import sort_key
from willow.storage.extensions import db
from willow.storage.models import Group
from willow.storage.models import GroupMember
from willow.storage.models import User
from willow.storage.models import UserValue

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ALL_USERS = ["100%_off", "100abcdoff", "back\\slash", "bjensen", "JSmith", "Ünïcode"]
ALL_GROUPS = ["Admins", "Deals", "Empty", "Tour Guides"]


def _user(org_id: int, user_id: str, user_name: str, **columns) -> User:
    return User(
        id=user_id,
        organization_id=org_id,
        user_name=user_name,
        user_name_norm=user_name.lower(),
        **columns,
    )


def _value(org_id: int, user_id: str, attribute: str, position: int, value: str, **kw):
    return UserValue(
        organization_id=org_id,
        user_id=user_id,
        attribute=attribute,
        position=position,
        value=value,
        value_norm=value.lower(),
        **kw,
    )


@pytest.fixture
def people(app, org):
    """Six users, their emails and addresses, and four groups."""
    o = org.id
    with app.app_context():
        db.session.add_all(
            [
                _user(
                    o,
                    "u-bjensen",
                    "bjensen",
                    external_id="ext-BJ",
                    display_name="Babs Jensen",
                    name_family_name="Jensen",
                    name_given_name="Barbara",
                    title="Tour Guide",
                    user_type="Employee",
                    active=True,
                    employee_number="701984",
                    department="Tour Operations",
                    manager_value="mgr-1",
                    created_at=datetime(2024, 1, 1, 10, 0, 0, 123456),
                    last_modified_at=datetime(2024, 3, 1, 12, 0, 0, 500000),
                ),
                _user(
                    o,
                    "u-jsmith",
                    "JSmith",
                    external_id="ext-js",
                    display_name="John Smith",
                    name_family_name="Smith",
                    user_type="Intern",
                    active=False,
                    created_at=datetime(2024, 2, 1, 9, 0, 0),
                    last_modified_at=datetime(2024, 2, 1, 9, 0, 0),
                ),
                _user(
                    o,
                    "u-percent",
                    "100%_off",
                    display_name="",
                    title="",
                    active=True,
                    created_at=datetime(2024, 2, 2),
                    last_modified_at=datetime(2024, 2, 2),
                ),
                _user(
                    o,
                    "u-lookalike",
                    "100abcdoff",
                    active=True,
                    created_at=datetime(2024, 2, 3),
                    last_modified_at=datetime(2024, 2, 3),
                ),
                _user(
                    o,
                    "u-backslash",
                    "back\\slash",
                    active=True,
                    created_at=datetime(2024, 2, 4),
                    last_modified_at=datetime(2024, 2, 4),
                ),
                _user(
                    o,
                    "u-unicode",
                    "Ünïcode",
                    display_name="Ünïcode Ölander",
                    active=True,
                    created_at=datetime(2024, 2, 5),
                    last_modified_at=datetime(2024, 2, 5),
                ),
            ]
        )
        db.session.add_all(
            [
                Group(
                    id="g-admins",
                    organization_id=o,
                    display_name="Admins",
                    display_name_norm="admins",
                    external_id="okta-1",
                    created_at=datetime(2024, 1, 5),
                ),
                Group(
                    id="g-guides",
                    organization_id=o,
                    display_name="Tour Guides",
                    display_name_norm="tour guides",
                    created_at=datetime(2024, 1, 6),
                ),
                Group(
                    id="g-deals",
                    organization_id=o,
                    display_name="Deals",
                    display_name_norm="deals",
                    created_at=datetime(2024, 1, 7),
                ),
                Group(
                    id="g-empty",
                    organization_id=o,
                    display_name="Empty",
                    display_name_norm="empty",
                    created_at=datetime(2024, 1, 8),
                ),
            ]
        )
        db.session.flush()
        db.session.add_all(
            [
                # bjensen: the work address is the example.com one, and primary
                _value(o, "u-bjensen", "emails", 0, "Babs@Example.com", type="work", primary=True),
                _value(o, "u-bjensen", "emails", 1, "babs@home.example", type="home"),
                # jsmith: a work email and an example.com email, but not the same one
                _value(o, "u-jsmith", "emails", 0, "john@example.com", type="home"),
                _value(o, "u-jsmith", "emails", 1, "js@corp.example", type="work"),
                _value(o, "u-unicode", "emails", 0, "Ü@Example.org", type="other"),
                UserValue(
                    organization_id=o,
                    user_id="u-bjensen",
                    attribute="addresses",
                    position=0,
                    type="work",
                    locality="Hollywood",
                    postal_code="91608",
                ),
                GroupMember(organization_id=o, group_id="g-admins", user_id="u-bjensen"),
                GroupMember(organization_id=o, group_id="g-admins", user_id="u-jsmith"),
                GroupMember(organization_id=o, group_id="g-guides", user_id="u-bjensen"),
                GroupMember(organization_id=o, group_id="g-deals", user_id="u-percent"),
            ]
        )
        db.session.commit()
    return o


def user_names(app, org_id: int, text: str) -> list[str]:
    with app.app_context():
        stmt = select(User.user_name).where(
            User.organization_id == org_id, compile_filter(parse_filter(text), "User")
        )
        return sorted(db.session.scalars(stmt), key=str.lower)


def group_names(app, org_id: int, text: str) -> list[str]:
    with app.app_context():
        stmt = select(Group.display_name).where(
            Group.organization_id == org_id, compile_filter(parse_filter(text), "Group")
        )
        return sorted(db.session.scalars(stmt))


USER_FILTERS = [
    # userName: case-insensitive through user_name_norm, in both directions
    ('userName eq "bjensen"', ["bjensen"]),
    ('userName eq "BJENSEN"', ["bjensen"]),
    ('USERNAME EQ "jsmith"', ["JSmith"]),
    ("username eq bjensen", ["bjensen"]),
    ('userName eq "ÜNÏCODE"', ["Ünïcode"]),
    ('userName eq "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"', []),
    ('userName ne "bjensen"', ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"]),
    ('userName sw "J"', ["JSmith"]),
    ('userName ew "SMITH"', ["JSmith"]),
    ('userName co "jen"', ["bjensen"]),
    ('userName gt "b"', ["back\\slash", "bjensen", "JSmith", "Ünïcode"]),
    ('userName ge "bjensen"', ["bjensen", "JSmith", "Ünïcode"]),
    ('userName lt "BJENSEN"', ["100%_off", "100abcdoff", "back\\slash"]),
    ('userName le "bjensen"', ["100%_off", "100abcdoff", "back\\slash", "bjensen"]),
    # LIKE metacharacters in the value match literally
    ('userName sw "100%"', ["100%_off"]),
    ('userName sw "100%_"', ["100%_off"]),
    ('userName co "_"', ["100%_off"]),
    ('userName co "%"', ["100%_off"]),
    ('userName ew "%_off"', ["100%_off"]),
    (r'userName co "\\"', ["back\\slash"]),
    (r'userName eq "back\\slash"', ["back\\slash"]),
    (r'userName sw "back\\s"', ["back\\slash"]),
    ('userName co ""', ALL_USERS),
    # caseExact attributes compare exactly, also with co/sw/ew (SQLite's LIKE would not)
    ('externalId eq "ext-BJ"', ["bjensen"]),
    ('externalId eq "EXT-BJ"', []),
    ("externalId eq ext-js", ["JSmith"]),
    ('externalId sw "ext-"', ["bjensen", "JSmith"]),
    ('externalId sw "EXT-"', []),
    ('externalId co "BJ"', ["bjensen"]),
    ('externalId co "bj"', []),
    ('externalId ew "js"', ["JSmith"]),
    ('externalId ew "JS"', []),
    ('externalId ew "a-much-longer-suffix-than-any-value"', []),
    ('externalId co "t-"', ["bjensen", "JSmith"]),
    ('externalId gt "ext-a"', ["JSmith"]),
    ("externalId pr", ["bjensen", "JSmith"]),
    ('id eq "u-bjensen"', ["bjensen"]),
    ('id eq "U-BJENSEN"', []),
    # other case-insensitive strings: lower() on both sides
    ('displayName eq "babs jensen"', ["bjensen"]),
    ('displayName co "SMITH"', ["JSmith"]),
    ('displayName eq "Ünïcode Ölander"', ["Ünïcode"]),
    ('name.familyName eq "JENSEN"', ["bjensen"]),
    ('NAME.FAMILYNAME sw "sm"', ["JSmith"]),
    (f'{CORE_USER}:name.givenName eq "Barbara"', ["bjensen"]),
    (f'{CORE_USER}:userName eq "bjensen"', ["bjensen"]),
    (f'{CORE_USER}:id eq "u-jsmith"', ["JSmith"]),
    ('title eq "tour guide"', ["bjensen"]),
    # pr: present and not empty; eq null: missing
    ("title pr", ["bjensen"]),
    ("displayName pr", ["bjensen", "JSmith", "Ünïcode"]),
    ("title eq null", ["100abcdoff", "back\\slash", "JSmith", "Ünïcode"]),
    ("title ne null", ["100%_off", "bjensen"]),
    ("name pr", ["bjensen", "JSmith"]),
    ("name.givenName pr", ["bjensen"]),
    # ne and not: a missing value is "not equal"
    ('title ne "Tour Guide"', ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"]),
    ('not (title eq "Tour Guide")', ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"]),
    ('not (title ne "Tour Guide")', ["bjensen"]),
    (
        'not (title co "guide" or userType eq "intern")',
        ["100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    ('not (not (title eq "Tour Guide"))', ["bjensen"]),
    ("not (title pr)", ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"]),
    # booleans, including Entra ID's strings
    ("active eq true", ["100%_off", "100abcdoff", "back\\slash", "bjensen", "Ünïcode"]),
    ("active eq false", ["JSmith"]),
    ('active eq "False"', ["JSmith"]),
    ('active eq "TRUE"', ["100%_off", "100abcdoff", "back\\slash", "bjensen", "Ünïcode"]),
    ("active ne true", ["JSmith"]),
    ("active pr", ALL_USERS),
    # precedence: not > and > or
    ('userName eq "bjensen" or userName eq "JSmith" and active eq true', ["bjensen"]),
    ('(userName eq "bjensen" or userName eq "JSmith") and active eq false', ["JSmith"]),
    ('userName eq "JSmith" and active eq true or userName eq "bjensen"', ["bjensen"]),
    ("not (active eq true) or title pr", ["bjensen", "JSmith"]),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        ["bjensen"],
    ),
    # dates: ISO 8601, compared at the millisecond precision that meta renders
    ('meta.created eq "2024-01-01T10:00:00.123Z"', ["bjensen"]),
    ('meta.created eq "2024-01-01T11:00:00.123+01:00"', ["bjensen"]),
    ('meta.created eq "2024-01-01T10:00:00.123"', ["bjensen"]),
    ('meta.created eq "2024-01-01T10:00:00Z"', []),
    (
        'meta.created gt "2024-01-01T10:00:00.123Z"',
        ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"],
    ),
    ('meta.created ge "2024-01-01T10:00:00.123Z"', ALL_USERS),
    ('meta.created lt "2024-01-01T10:00:00.123Z"', []),
    ('meta.created le "2024-01-01T10:00:00.123Z"', ["bjensen"]),
    (
        'meta.created ne "2024-01-01T10:00:00.123Z"',
        ["100%_off", "100abcdoff", "back\\slash", "JSmith", "Ünïcode"],
    ),
    ('meta.created lt "2024-02-02"', ["bjensen", "JSmith"]),
    ('meta.lastModified gt "2024-02-15T00:00:00Z"', ["bjensen"]),
    ('meta.lastModified ge "2024-03-01T12:00:00.500Z"', ["bjensen"]),
    ('meta.lastModified gt "2024-03-01T12:00:00.500Z"', []),
    ('meta.resourceType eq "User"', ALL_USERS),
    ('meta.resourceType eq "Group"', []),
    # enterprise extension, with and without its URN
    (f'{ENTERPRISE}:employeeNumber eq "701984"', ["bjensen"]),
    (f"{ENTERPRISE}:employeeNumber eq 701984", ["bjensen"]),
    (f'{ENTERPRISE.upper()}:DEPARTMENT co "operations"', ["bjensen"]),
    ('department sw "tour"', ["bjensen"]),
    (f'{ENTERPRISE}:manager.value eq "mgr-1"', ["bjensen"]),
    (f'{ENTERPRISE}:manager.value eq "MGR-1"', []),
    ("manager pr", ["bjensen"]),
    # multi-valued: one EXISTS per condition unless inside [...], which is one element
    ('emails[type eq "work" and value co "example.com"]', ["bjensen"]),
    ('emails[type eq "work"].value co "example.com"', ["bjensen"]),
    ('emails[type eq "WORK"].value eq "babs@example.com"', ["bjensen"]),
    ('emails.type eq "work" and emails.value co "example.com"', ["bjensen", "JSmith"]),
    ('emails co "EXAMPLE"', ["bjensen", "JSmith", "Ünïcode"]),
    ('emails.value eq "john@example.com"', ["JSmith"]),
    (
        'emails.value ne "john@example.com"',
        ["100%_off", "100abcdoff", "back\\slash", "bjensen", "Ünïcode"],
    ),
    ('emails eq "ü@example.org"', ["Ünïcode"]),
    ('emails[type eq "home" or type eq "other"]', ["bjensen", "JSmith", "Ünïcode"]),
    ('emails[not (type eq "home")]', ["bjensen", "JSmith", "Ünïcode"]),
    ('not (emails[type eq "home"])', ["100%_off", "100abcdoff", "back\\slash", "Ünïcode"]),
    ("emails[primary eq true]", ["bjensen"]),
    ("emails.primary eq true", ["bjensen"]),
    ("emails[display pr]", []),
    ("emails pr", ["bjensen", "JSmith", "Ünïcode"]),
    ("emails.value eq null", ["100%_off", "100abcdoff", "back\\slash"]),
    ("not (emails pr)", ["100%_off", "100abcdoff", "back\\slash"]),
    ("phoneNumbers pr", []),
    ('addresses[type eq "work" and postalCode eq "91608"]', ["bjensen"]),
    ('addresses.locality co "wood"', ["bjensen"]),
    # groups on Users
    ('groups.value eq "g-admins"', ["bjensen", "JSmith"]),
    ('groups eq "G-ADMINS"', ["bjensen", "JSmith"]),
    ('groups.display eq "tour guides"', ["bjensen"]),
    ('groups[display sw "tour" and type eq "direct"]', ["bjensen"]),
    ("groups pr", ["100%_off", "bjensen", "JSmith"]),
    ("not (groups pr)", ["100abcdoff", "back\\slash", "Ünïcode"]),
    ('groups.value ne "g-admins"', ["100%_off", "100abcdoff", "back\\slash", "Ünïcode"]),
    # single-valued complex attributes take a value filter too
    ('name[givenName eq "barbara" and familyName pr]', ["bjensen"]),
]


@pytest.mark.parametrize(("text", "expected"), USER_FILTERS)
def test_user_filter_returns(app, people, text, expected):
    assert user_names(app, people, text) == expected


GROUP_FILTERS = [
    ('displayName eq "admins"', ["Admins"]),
    ('DISPLAYNAME EQ "TOUR GUIDES"', ["Tour Guides"]),
    ('displayName sw "t"', ["Tour Guides"]),
    ('displayName eq "f2c0d7a4-4e0b-4b1a-8f25-5f6c3f1c2a11"', []),
    ('externalId eq "okta-1"', ["Admins"]),
    ('externalId eq "OKTA-1"', []),
    ('id eq "g-deals"', ["Deals"]),
    ('members eq "u-bjensen"', ["Admins", "Tour Guides"]),
    ('members.value eq "u-jsmith"', ["Admins"]),
    ('members.value eq "U-JSMITH"', []),
    ('members[value eq "u-bjensen"]', ["Admins", "Tour Guides"]),
    ('members.display co "babs"', ["Admins", "Tour Guides"]),
    ('members.display eq "100%_off"', ["Deals"]),
    ('members[type eq "User"]', ["Admins", "Deals", "Tour Guides"]),
    ("members pr", ["Admins", "Deals", "Tour Guides"]),
    ("not (members pr)", ["Empty"]),
    ('members.value ne "u-bjensen"', ["Deals", "Empty"]),
    ('meta.created gt "2024-01-06T00:00:00Z"', ["Deals", "Empty"]),
    ('meta.resourceType eq "group"', []),
    ('meta.resourceType eq "Group"', ALL_GROUPS),
    ('displayName eq "Admins" or members eq "u-percent"', ["Admins", "Deals"]),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_FILTERS)
def test_group_filter_returns(app, people, text, expected):
    assert group_names(app, people, text) == expected


def test_filter_counts_with_select_from(app, people):
    """The services count matches with ``select(func.count()).select_from(User)``."""
    with app.app_context():
        condition = compile_filter(
            parse_filter('emails[type eq "work"] and active eq true'), "User"
        )
        stmt = (
            select(func.count()).select_from(User).where(User.organization_id == people, condition)
        )
        assert db.session.scalar(stmt) == 1


def test_filters_are_scoped_by_the_callers_organization(app, people):
    from willow.storage.models import Organization

    with app.app_context():
        other = Organization(slug="other", name="Other")
        db.session.add(other)
        db.session.flush()
        db.session.add(_user(other.id, "u-other", "bjensen"))
        db.session.commit()
        other_id = other.id
    assert user_names(app, other_id, 'userName eq "bjensen"') == ["bjensen"]
    assert user_names(app, other_id, "groups pr") == []
    assert user_names(app, people, 'userName eq "bjensen"') == ["bjensen"]


def _sorted(app, org_id: int, resource_type: str, sort_by: str, descending=False) -> list[str]:
    model = User if resource_type == "User" else Group
    label = User.user_name if resource_type == "User" else Group.display_name
    with app.app_context():
        key = sort_key(resource_type, sort_by)
        order = (key.desc() if descending else key.asc()).nulls_last()
        stmt = (
            select(label)
            .where(model.organization_id == org_id)
            .order_by(order, model.created_at, model.id)
        )
        return list(db.session.scalars(stmt))


SORTS = [
    (
        "User",
        "userName",
        False,
        ["100%_off", "100abcdoff", "back\\slash", "bjensen", "JSmith", "Ünïcode"],
    ),
    (
        "User",
        "USERNAME",
        True,
        ["Ünïcode", "JSmith", "bjensen", "back\\slash", "100abcdoff", "100%_off"],
    ),
    (
        "User",
        "displayName",
        False,
        ["100%_off", "bjensen", "JSmith", "Ünïcode", "100abcdoff", "back\\slash"],
    ),
    (
        "User",
        "name.familyName",
        False,
        ["bjensen", "JSmith", "100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    (
        "User",
        "meta.created",
        True,
        ["Ünïcode", "back\\slash", "100abcdoff", "100%_off", "JSmith", "bjensen"],
    ),
    (
        "User",
        "externalId",
        False,
        ["bjensen", "JSmith", "100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    (
        "User",
        "active",
        False,
        ["JSmith", "bjensen", "100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    # multi-valued: the primary value, else the first
    (
        "User",
        "emails",
        False,
        ["bjensen", "JSmith", "Ünïcode", "100%_off", "100abcdoff", "back\\slash"],
    ),
    (
        "User",
        "emails.type",
        False,
        ["JSmith", "Ünïcode", "bjensen", "100%_off", "100abcdoff", "back\\slash"],
    ),
    (
        "User",
        f"{ENTERPRISE}:employeeNumber",
        False,
        ["bjensen", "JSmith", "100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    (
        "User",
        "groups.display",
        False,
        ["bjensen", "JSmith", "100%_off", "100abcdoff", "back\\slash", "Ünïcode"],
    ),
    ("Group", "displayName", False, ["Admins", "Deals", "Empty", "Tour Guides"]),
    ("Group", "displayName", True, ["Tour Guides", "Empty", "Deals", "Admins"]),
    ("Group", "members.display", False, ["Deals", "Admins", "Tour Guides", "Empty"]),
]


@pytest.mark.parametrize(("resource_type", "sort_by", "descending", "expected"), SORTS)
def test_sort_key_orders(app, people, resource_type, sort_by, descending, expected):
    assert _sorted(app, people, resource_type, sort_by, descending) == expected


# --- Errors and SQL shape: no database needed ------------------------------------------

INVALID_USER_FILTERS = [
    ('nickname2 eq "x"', "Unknown attribute 'nickname2'"),
    ('password eq "secret"', "never returned"),
    ('userName.first eq "x"', "no sub-attributes"),
    ('name.first eq "x"', "no sub-attribute 'first'"),
    ('emails.kind eq "x"', "no sub-attribute 'kind'"),
    ('emails[kind eq "x"]', "no sub-attribute 'kind'"),
    ('userName[value eq "x"]', "not complex"),
    ('name eq "x"', "'name' is complex"),
    ('addresses eq "x"', "'addresses' has no 'value'"),
    ('active gt "true"', "does not apply to the boolean"),
    ('active co "t"', "does not apply to the boolean"),
    ('active eq "yes"', "is a boolean"),
    ("active eq 1", "is a boolean"),
    ('meta.created eq "yesterday"', "not an ISO 8601 date-time"),
    ("meta.created eq 2024", "not an ISO 8601 date-time"),
    ('meta.created co "2024"', "does not apply to the dateTime"),
    ("userName eq true", "compare it with a quoted value"),
    ('meta.location eq "x"', "cannot be used here"),
    ('meta.version eq "x"', "cannot be used here"),
    ("groups.$ref pr", "cannot be used here"),
    (f'{ENTERPRISE}:unknown eq "x"', "Unknown attribute"),
    ('urn:example:params:scim:schemas:custom:2.0:User:x eq "y"', "Unknown attribute"),
    ('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"', "Unknown attribute"),
    ('members eq "x"', "Unknown attribute 'members'"),
]


@pytest.mark.parametrize(("text", "detail"), INVALID_USER_FILTERS)
def test_user_filter_on_unknown_or_mistyped_attribute_is_invalid(text, detail):
    with pytest.raises(InvalidFilter) as info:
        compile_filter(parse_filter(text), "User")
    assert detail in info.value.detail


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('userName eq "x"', "Unknown attribute 'userName'"),
        ("members.$ref pr", "cannot be used here"),
        (f'{ENTERPRISE}:department eq "x"', "Unknown attribute"),
        ('groups eq "x"', "Unknown attribute 'groups'"),
    ],
)
def test_group_filter_on_unknown_attribute_is_invalid(text, detail):
    with pytest.raises(InvalidFilter) as info:
        compile_filter(parse_filter(text), "Group")
    assert detail in info.value.detail


@pytest.mark.parametrize(
    "sort_by",
    [
        "nope",
        "name",
        "password",
        "meta.location",
        "addresses",
        "groups.$ref",
        'emails[type eq "work"]',
        "",
        "a.b.c",
    ],
)
def test_sort_by_an_unknown_or_unsortable_attribute_is_invalid(sort_by):
    with pytest.raises(InvalidValue) as info:
        sort_key("User", sort_by)
    assert info.value.detail.startswith("sortBy: ")


def _sql(clause, dialect) -> str:
    stmt = select(User.id).where(clause)
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"]
)
@pytest.mark.parametrize(
    "text",
    ['emails[type eq "work"].value co "x"', 'emails[type eq "work" and value co "x"]'],
)
def test_value_filter_is_one_exists_with_both_conditions(dialect, text):
    sql = _sql(compile_filter(parse_filter(text), "User"), dialect)
    assert sql.count("EXISTS") == 1
    assert "lower(user_values_1.type) = lower('work')" in sql
    assert "user_values_1.value_norm LIKE" in sql


def test_username_eq_compares_the_indexed_norm_column():
    sql = _sql(compile_filter(parse_filter('userName eq "BJensen"'), "User"), sqlite.dialect())
    assert "users.user_name_norm = 'bjensen'" in sql
    assert "lower(" not in sql


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "BJENSEN"',
        'userName eq "nobody"',
        'externalId eq "ext-BJ"',
        'externalId eq "EXT-BJ"',
        'id eq "u-bjensen"',
        f'{CORE_USER}:userName eq "jsmith"',
    ],
)
def test_equality_lookup_selects_what_the_compiled_filter_selects(app, people, text):
    """The IdPs' lookup runs as a prebuilt statement: same column, same value, same rows."""
    column, value = equality(parse_filter(text), "User")
    compiled = user_names(app, people, text)
    with app.app_context():
        fast = select(User.user_name).where(User.organization_id == people, column == value)
        assert sorted(db.session.scalars(fast), key=str.lower) == compiled


@pytest.mark.parametrize(
    "text",
    [
        'userName ne "bjensen"',
        'userName co "jen"',
        'emails eq "bjensen@example.com"',
        'meta.created eq "2024-01-01T10:00:00.123Z"',
        'active eq true',
        'userName eq "a" or userName eq "b"',
        f'name.familyName eq "{"x" * 600}"',
    ],
)
def test_equality_lookup_leaves_every_other_filter_to_the_compiler(text):
    assert equality(parse_filter(text), "User") is None
