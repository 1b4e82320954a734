"""The filter and PATCH path grammar (RFC 7644 §3.4.2.2, §3.5.2) and in-memory matching.

Pure tests: no app, no database.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from willow.scim.protocol.errors import InvalidFilter
from willow.scim.protocol.errors import InvalidPath
from willow.scim.protocol.filter import MAX_DEPTH
from willow.scim.protocol.filter import MAX_LENGTH
from willow.scim.protocol.filter import MAX_TERMS
from willow.scim.protocol.filter import And
from willow.scim.protocol.filter import AttrPath
from willow.scim.protocol.filter import Compare
from willow.scim.protocol.filter import Not
from willow.scim.protocol.filter import Or
from willow.scim.protocol.filter import PatchPath
from willow.scim.protocol.filter import ValuePath
from willow.scim.protocol.filter import matches
from willow.scim.protocol.filter import operands
from willow.scim.protocol.filter import parse_filter
from willow.scim.protocol.filter import parse_patch_path

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def p(attr: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(uri, attr, sub)


def c(attr: str, op: str, value=None, sub: str | None = None, uri: str | None = None) -> Compare:
    return Compare(AttrPath(uri, attr, sub), op, value)


VALID = [
    # every operator, lower-cased in the AST
    ('userName eq "bjensen"', c("userName", "eq", "bjensen")),
    ('userName ne "bjensen"', c("userName", "ne", "bjensen")),
    ('name.familyName co "O\'Malley"', c("name", "co", "O'Malley", "familyName")),
    ('userName sw "J"', c("userName", "sw", "J")),
    ('userName ew "son"', c("userName", "ew", "son")),
    ("title pr", c("title", "pr")),
    (
        'meta.lastModified gt "2011-05-13T04:42:34Z"',
        c("meta", "gt", "2011-05-13T04:42:34Z", "lastModified"),
    ),
    (
        'meta.lastModified ge "2011-05-13T04:42:34Z"',
        c("meta", "ge", "2011-05-13T04:42:34Z", "lastModified"),
    ),
    (
        'meta.lastModified lt "2011-05-13T04:42:34Z"',
        c("meta", "lt", "2011-05-13T04:42:34Z", "lastModified"),
    ),
    (
        'meta.lastModified le "2011-05-13T04:42:34Z"',
        c("meta", "le", "2011-05-13T04:42:34Z", "lastModified"),
    ),
    # keywords, operators and literals in any case (idp-traffic.md §6: `username EQ "x"`)
    ('username EQ "x"', c("username", "eq", "x")),
    ('USERNAME Eq "x"', c("USERNAME", "eq", "x")),
    ("title PR", c("title", "pr")),
    ("active eq TRUE", c("active", "eq", True)),
    ("active Eq False", c("active", "eq", False)),
    ("displayName eq NULL", c("displayName", "eq", None)),
    ('a eq "1" AND b eq "2"', And(c("a", "eq", "1"), c("b", "eq", "2"))),
    ('a eq "1" Or b eq "2"', Or(c("a", "eq", "1"), c("b", "eq", "2"))),
    ('NOT (a eq "1")', Not(c("a", "eq", "1"))),
    # literals
    ("active eq true", c("active", "eq", True)),
    ("active eq false", c("active", "eq", False)),
    ("manager eq null", c("manager", "eq", None)),
    ("x eq 42", c("x", "eq", 42)),
    ("x eq -7", c("x", "eq", -7)),
    ("x gt 1.5", c("x", "gt", 1.5)),
    ("x lt 1e3", c("x", "lt", 1000.0)),
    ("x eq 0", c("x", "eq", 0)),
    # JSON string escapes (RFC 8259 §7)
    (r'userName eq "a\"b"', c("userName", "eq", 'a"b')),
    (r'userName eq "back\\slash"', c("userName", "eq", "back\\slash")),
    (r'userName eq "a\/b"', c("userName", "eq", "a/b")),
    (r'userName eq "tab\there"', c("userName", "eq", "tab\there")),
    (r'userName eq "\u00e9t\u00E9"', c("userName", "eq", "été")),
    ('userName eq ""', c("userName", "eq", "")),
    (
        'userName eq "with (parens) and [brackets] or not"',
        c("userName", "eq", "with (parens) and [brackets] or not"),
    ),
    ('userName eq "ünïcødé"', c("userName", "eq", "ünïcødé")),
    # Entra ID's unquoted values are strings; numbers and literals keep their type
    ("externalId eq jyoung", c("externalId", "eq", "jyoung")),
    ("userName eq bjensen@example.com", c("userName", "eq", "bjensen@example.com")),
    ("externalId eq 00u1abcd", c("externalId", "eq", "00u1abcd")),
    ("externalId eq 0123", c("externalId", "eq", "0123")),
    (
        "externalId eq jyoung and active eq true",
        And(c("externalId", "eq", "jyoung"), c("active", "eq", True)),
    ),
    # whitespace is free around tokens
    ('  userName   eq\t"x"  ', c("userName", "eq", "x")),
    ('(userName eq "x")', c("userName", "eq", "x")),
    ('((userName eq "x"))', c("userName", "eq", "x")),
    # precedence: not > and > or, left-associative chains
    (
        'a eq "1" or b eq "2" and c eq "3"',
        Or(c("a", "eq", "1"), And(c("b", "eq", "2"), c("c", "eq", "3"))),
    ),
    (
        'a eq "1" and b eq "2" or c eq "3"',
        Or(And(c("a", "eq", "1"), c("b", "eq", "2")), c("c", "eq", "3")),
    ),
    (
        '(a eq "1" or b eq "2") and c eq "3"',
        And(Or(c("a", "eq", "1"), c("b", "eq", "2")), c("c", "eq", "3")),
    ),
    (
        'a eq "1" and b eq "2" and c eq "3"',
        And(And(c("a", "eq", "1"), c("b", "eq", "2")), c("c", "eq", "3")),
    ),
    (
        'a eq "1" or b eq "2" or c eq "3"',
        Or(Or(c("a", "eq", "1"), c("b", "eq", "2")), c("c", "eq", "3")),
    ),
    ('not (a eq "1") and b pr', And(Not(c("a", "eq", "1")), c("b", "pr"))),
    ('not(a eq "1" or b pr)', Not(Or(c("a", "eq", "1"), c("b", "pr")))),
    ("not (not (a pr))", Not(Not(c("a", "pr")))),
    # RFC 7644 §3.4.2.2 examples
    ('title pr and userType eq "Employee"', And(c("title", "pr"), c("userType", "eq", "Employee"))),
    ('title pr or userType eq "Intern"', Or(c("title", "pr"), c("userType", "eq", "Intern"))),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        And(
            c("userType", "eq", "Employee"),
            Or(c("emails", "co", "example.com"), c("emails", "co", "example.org", "value")),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        And(
            c("userType", "ne", "Employee"),
            Not(Or(c("emails", "co", "example.com"), c("emails", "co", "example.org", "value"))),
        ),
    ),
    (
        'userType eq "Employee" and (emails.type eq "work")',
        And(c("userType", "eq", "Employee"), c("emails", "eq", "work", "type")),
    ),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            c("userType", "eq", "Employee"),
            ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
        ),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or '
        'ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "co", "@example.com"))),
            ValuePath(p("ims"), And(c("type", "eq", "xmpp"), c("value", "co", "@foo.com"))),
        ),
    ),
    # value filters: or, not and parentheses inside the brackets
    ('emails[type eq "work"]', ValuePath(p("emails"), c("type", "eq", "work"))),
    ('emails[not (type eq "work")]', ValuePath(p("emails"), Not(c("type", "eq", "work")))),
    (
        'emails[(type eq "work" or type eq "home") and primary eq true]',
        ValuePath(
            p("emails"),
            And(Or(c("type", "eq", "work"), c("type", "eq", "home")), c("primary", "eq", True)),
        ),
    ),
    ('members[value eq "2819c223"]', ValuePath(p("members"), c("value", "eq", "2819c223"))),
    # Entra ID's `attr[filter].sub op value` = one element satisfying both
    (
        'emails[type eq "work"].value co "x"',
        ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "co", "x"))),
    ),
    (
        'emails[type eq "work"].value eq "a@b.c"',
        ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "eq", "a@b.c"))),
    ),
    (
        'emails[type eq "work"].value pr',
        ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "pr"))),
    ),
    (
        'emails[type eq "work" or type eq "home"].value EQ x',
        ValuePath(
            p("emails"),
            And(Or(c("type", "eq", "work"), c("type", "eq", "home")), c("value", "eq", "x")),
        ),
    ),
    (
        'emails[type eq "work"].value co "x" and active eq true',
        And(
            ValuePath(p("emails"), And(c("type", "eq", "work"), c("value", "co", "x"))),
            c("active", "eq", True),
        ),
    ),
    # URN-prefixed paths: URNs contain "2.0", the attribute follows the last ':'
    (
        f'{ENTERPRISE}:employeeNumber eq "701984"',
        c("employeeNumber", "eq", "701984", uri=ENTERPRISE),
    ),
    (f'{CORE_USER}:userName sw "J"', c("userName", "sw", "J", uri=CORE_USER)),
    (
        f'{CORE_USER}:name.familyName eq "Jensen"',
        c("name", "eq", "Jensen", "familyName", CORE_USER),
    ),
    (
        f'{ENTERPRISE}:manager.value eq "26118915"',
        c("manager", "eq", "26118915", "value", ENTERPRISE),
    ),
    (f'{ENTERPRISE.upper()}:DEPARTMENT eq "x"', c("DEPARTMENT", "eq", "x", uri=ENTERPRISE.upper())),
    (
        f'{CORE_USER}:emails[type eq "work"]',
        ValuePath(p("emails", uri=CORE_USER), c("type", "eq", "work")),
    ),
    # sub-attributes and names as written
    ('name.familyName eq "Jensen"', c("name", "eq", "Jensen", "familyName")),
    ('NAME.FAMILYNAME eq "Jensen"', c("NAME", "eq", "Jensen", "FAMILYNAME")),
    ("manager.$ref pr", c("manager", "pr", None, "$ref")),
    ("x509Certificates.value pr", c("x509Certificates", "pr", None, "value")),
    ('some-attr_1 eq "x"', c("some-attr_1", "eq", "x")),
    # attribute names that begin like keywords or operators are names
    ('notes eq "x"', c("notes", "eq", "x")),
    ('order eq "x"', c("order", "eq", "x")),
    ('android eq "x"', c("android", "eq", "x")),
    ('eq eq "x"', c("eq", "eq", "x")),
    ("pr pr", c("pr", "pr")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parse_filter_builds_the_ast(text, expected):
    assert parse_filter(text) == expected


def test_form_encoded_spaces_arrive_decoded():
    """Entra ID sends `filter=userName+eq+%22x%22`; the query-string decoder turns `+`
    into spaces before the parser sees it."""
    text = parse_qs("filter=userName+eq+%22Test_User_a%2Bb%40example.com%22")["filter"][0]
    assert parse_filter(text) == c("userName", "eq", "Test_User_a+b@example.com")


@pytest.mark.parametrize(
    "guid",
    ["cf4d78e8-cc4f-4d5d-b8b9-183561c0104a", "00000000-0000-0000-0000-000000000000"],
)
def test_random_guid_probes_parse_as_plain_equality(guid):
    """Entra ID's connection test looks up a random GUID, quoted and (older docs) bare."""
    assert parse_filter(f'userName eq "{guid}"') == c("userName", "eq", guid)
    assert parse_filter(f"externalId eq {guid}") == c("externalId", "eq", guid)


INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("userName", "Expected an operator"),
    ('userName "x"', "Expected an operator"),
    ('userName eqq "x"', "Expected an operator"),
    ('userName equals "x"', "Expected an operator"),
    ('userName = "x"', "Expected an operator"),
    ("userName eq", "Expected a value after 'eq' at position 12, found the end of the filter"),
    ("userName eq )", "Expected a value"),
    ("userName eq and", "Expected a value"),
    ('userName eq "x" and', "Expected an attribute name"),
    ('userName eq "x" or', "Expected an attribute name"),
    ('and userName eq "x"', "Expected an attribute name"),
    ('eq "x"', "Expected an operator"),
    ('"x" eq userName', "Expected an attribute name"),
    ('(userName eq "x"', "Expected ')' at position 17"),
    ('userName eq "x")', "Expected 'and', 'or' or the end of the filter at position 16, found ')'"),
    ('((userName eq "x")', "Expected ')'"),
    ("()", "Expected an attribute name"),
    (
        'userName eq "x" title pr',
        "Expected 'and', 'or' or the end of the filter at position 17, found 'title'",
    ),
    ('userName eq "x" garbage', "found 'garbage'"),
    ('userName eq "x" "y"', "Expected 'and', 'or'"),
    ('userName eq "x" and and title pr', "Expected an attribute name"),
    ('userName eq "unterminated', "no closing quote"),
    (r'userName eq "bad \q escape"', r"Unknown escape '\\q'"),
    (r'userName eq "bad \u12"', "Unknown escape"),
    (r'userName eq "ends with backslash\"', "no closing quote"),
    ('not userName eq "x"', "Expected '(' after 'not'"),
    ("not ()", "Expected an attribute name"),
    ('emails[type eq "work"', "Expected ']'"),
    ("emails[]", "Expected a filter inside"),
    ('emails type eq "work"]', "Expected an operator"),
    ('emails[type eq "work"]]', "Expected 'and', 'or'"),
    ('emails[type[value eq "x"] pr]', "cannot be nested"),
    ('emails.value[type eq "work"]', "not to the sub-attribute"),
    ('emails[name.familyName eq "x"]', "name a sub-attribute"),
    (f'emails[{ENTERPRISE}:type eq "x"]', "name a sub-attribute"),
    ('emails[type eq "work"].value', "Expected an operator"),
    ('emails[type eq "work"]. eq "x"', "Expected a sub-attribute name"),
    ('emails[type eq "work"].value.x eq "x"', "Expected a sub-attribute name"),
    ('name.familyName.x eq "x"', "Expected an attribute name"),
    ('1abc eq "x"', "Expected an attribute name"),
    (':userName eq "x"', "Expected an attribute name"),
    ('urn:x: eq "x"', "Expected an attribute name"),
    ('user,name eq "x"', "Expected an attribute name"),
    ("meta.lastModified gt true", "'gt' compares strings"),
    ("meta.lastModified le null", "'le' compares strings"),
    ("userName co true", "'co' needs a string value"),
    ("userName sw null", "'sw' needs a string value"),
    ("x eq 1e999", "out of range"),
]


@pytest.mark.parametrize(("text", "detail"), INVALID)
def test_invalid_filter_is_rejected_with_a_located_detail(text, detail):
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert detail in info.value.detail
    assert info.value.scim_type == "invalidFilter"


def test_filter_longer_than_the_limit_is_rejected():
    text = 'userName eq "' + "x" * MAX_LENGTH + '"'
    with pytest.raises(InvalidFilter, match="longer than"):
        parse_filter(text)


def test_filter_at_the_depth_limit_parses_and_one_deeper_is_rejected():
    ok = "(" * MAX_DEPTH + "title pr" + ")" * MAX_DEPTH
    assert parse_filter(ok) == c("title", "pr")
    with pytest.raises(InvalidFilter, match="nests deeper than 50"):
        parse_filter("(" + ok + ")")
    with pytest.raises(InvalidFilter, match="nests deeper"):
        parse_filter("not (" * (MAX_DEPTH + 1) + "title pr" + ")" * (MAX_DEPTH + 1))


def test_pathological_unbalanced_input_fails_fast():
    with pytest.raises(InvalidFilter):
        parse_filter("(" * 5000)
    with pytest.raises(InvalidFilter):
        parse_filter("[" * 5000)


def test_long_or_chain_within_the_term_limit_parses_flat():
    """Clients look up batches with `id eq .. or id eq ..`: chains are not nesting."""
    terms = [f'id eq "{i:06d}"' for i in range(MAX_TERMS)]
    node = parse_filter(" or ".join(terms))
    assert operands(node) == [c("id", "eq", f"{i:06d}") for i in range(MAX_TERMS)]


@pytest.mark.parametrize(
    "text",
    [
        # 600 `ne` terms in under 8 KB: SQLite's expression tree overflowed at 499.
        " or ".join(["id ne 1"] * 600),
        " or ".join(["title pr"] * (MAX_TERMS + 1)),
        # Terms inside brackets count too.
        'emails[' + " or ".join(['type eq "w"'] * MAX_TERMS) + '] or title pr',
    ],
    ids=["600-ne", "one-over", "in-brackets"],
)
def test_filter_with_more_terms_than_the_limit_is_refused(text):
    assert len(text) <= MAX_LENGTH
    with pytest.raises(InvalidFilter, match=f"more than {MAX_TERMS} comparisons"):
        parse_filter(text)


def test_patch_path_with_more_terms_than_the_limit_is_refused():
    text = "emails[" + " or ".join(['type eq "w"'] * (MAX_TERMS + 1)) + "]"
    with pytest.raises(InvalidPath, match="comparisons"):
        parse_patch_path(text)


@pytest.mark.parametrize(
    "literal, expected",
    [
        ("0", 0),
        ("-12", -12),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("1.5e3", 1500.0),
        # A long decimal is a float, not an int: no int() digit limit applies.
        ("0." + "1" * 5000, float("0." + "1" * 5000)),
    ],
)
def test_number_literals_are_read_as_json_numbers(literal, expected):
    assert parse_filter(f"title eq {literal}") == c("title", "eq", expected)


@pytest.mark.parametrize(
    "literal",
    ["9223372036854775808", "-9223372036854775809", "9" * 4301, "9" * 50_000 + "0", "1e999"],
    ids=["2^63", "-2^63-1", "4301-digits", "long", "inf"],
)
def test_number_literals_beyond_64_bits_are_invalid_filters(literal):
    text = f"title eq {literal}"
    with pytest.raises(InvalidFilter, match="out of range"):
        parse_filter(text[:MAX_LENGTH] if len(text) > MAX_LENGTH else text)


@pytest.mark.parametrize("literal", ["99_999", "\uff11\uff12", "\u0661\u0662"])
def test_numbers_in_other_spellings_are_bare_words_not_numbers(literal):
    """Only ASCII digits make a number (RFC 8259 §6); like any unquoted word, the rest is
    read as a string (Entra's `externalId eq jyoung`)."""
    word = literal.encode().decode("unicode_escape")
    assert parse_filter(f"title eq {word}") == c("title", "eq", word)


# --- PATCH paths (RFC 7644 §3.5.2) ------------------------------------------------------

PATCH_PATHS = [
    ("userName", PatchPath(None, "userName", None, None)),
    ("active", PatchPath(None, "active", None, None)),
    ("name.givenName", PatchPath(None, "name", None, "givenName")),
    ("NAME.GIVENNAME", PatchPath(None, "NAME", None, "GIVENNAME")),
    ("members", PatchPath(None, "members", None, None)),
    ('emails[type eq "work"].value', PatchPath(None, "emails", c("type", "eq", "work"), "value")),
    ('emails[type EQ "work"].Value', PatchPath(None, "emails", c("type", "eq", "work"), "Value")),
    (
        'members[value eq "2819c223"]',
        PatchPath(None, "members", c("value", "eq", "2819c223"), None),
    ),
    (
        'members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName',
        PatchPath(
            None, "members", c("value", "eq", "2819c223-7f76-453a-919d-413861904646"), "displayName"
        ),
    ),
    (
        'addresses[type eq "work"].streetAddress',
        PatchPath(None, "addresses", c("type", "eq", "work"), "streetAddress"),
    ),
    (
        'emails[type eq "work" and primary eq true].value',
        PatchPath(None, "emails", And(c("type", "eq", "work"), c("primary", "eq", True)), "value"),
    ),
    (f"{ENTERPRISE}:department", PatchPath(ENTERPRISE, "department", None, None)),
    (f"{ENTERPRISE}:manager", PatchPath(ENTERPRISE, "manager", None, None)),
    (f"{ENTERPRISE}:manager.value", PatchPath(ENTERPRISE, "manager", None, "value")),
    (f"{CORE_USER}:name.familyName", PatchPath(CORE_USER, "name", None, "familyName")),
    (
        f'{CORE_USER}:emails[type eq "work"].value',
        PatchPath(CORE_USER, "emails", c("type", "eq", "work"), "value"),
    ),
    (ENTERPRISE, PatchPath(ENTERPRISE, "", None, None)),
    (ENTERPRISE.lower(), PatchPath(ENTERPRISE.lower(), "", None, None)),
    ("  userName  ", PatchPath(None, "userName", None, None)),
]


@pytest.mark.parametrize(("text", "expected"), PATCH_PATHS)
def test_parse_patch_path(text, expected):
    assert parse_patch_path(text) == expected


INVALID_PATHS = [
    ("", "empty"),
    ("  ", "empty"),
    ("name.givenName.x", "Expected an attribute name"),
    ("emails[", "Expected an attribute name at position 8, found the end of the path"),
    ('emails[type eq "work"', "Expected ']'"),
    ("emails[type eq]", "Expected a value"),
    ('emails[type eq "work"].', "Expected a sub-attribute name"),
    ('emails[type eq "work"].value.x', "Expected a sub-attribute name"),
    ('emails[type eq "work"] value', "Expected the end of the path"),
    ('emails.value[type eq "work"]', "not to the sub-attribute"),
    ('emails[type[value eq "x"] pr]', "cannot be nested"),
    ("userName eq", "Expected the end of the path"),
    ('"userName"', "Expected an attribute name"),
    ("(userName)", "Expected an attribute name"),
    ("1st", "Expected an attribute name"),
    (r'emails[value eq "\x"]', "Unknown escape"),
]


@pytest.mark.parametrize(("text", "detail"), INVALID_PATHS)
def test_invalid_patch_path_is_rejected(text, detail):
    with pytest.raises(InvalidPath) as info:
        parse_patch_path(text)
    assert detail in info.value.detail
    assert info.value.scim_type == "invalidPath"


# --- matches(): one element of a multi-valued attribute --------------------------------

WORK = {"type": "work", "value": "Babs@Example.com", "primary": True}
HOME = {"type": "home", "value": "babs@home.example"}
MEMBER = {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"}
ADDRESS = {"type": "work", "streetAddress": "100 Universal City Plaza", "postalCode": "91608"}


def _case_exact_value(name: str) -> bool:
    return name.lower() == "value"


MATCHES = [
    ('type eq "work"', WORK, None, True),
    ('type eq "work"', HOME, None, False),
    ('type eq "WORK"', WORK, None, True),
    ('TYPE eq "work"', WORK, None, True),
    ('value eq "babs@example.com"', WORK, None, True),
    ('value eq "babs@example.com"', WORK, _case_exact_value, False),
    ('value eq "Babs@Example.com"', WORK, _case_exact_value, True),
    ('type eq "WORK"', WORK, _case_exact_value, True),
    ('value co "example"', WORK, None, True),
    ('value co "EXAMPLE.COM"', WORK, None, True),
    ('value co "EXAMPLE.COM"', WORK, _case_exact_value, False),
    ('value sw "babs@"', WORK, None, True),
    ('value sw "example"', WORK, None, False),
    ('value ew ".COM"', WORK, None, True),
    ('value ew "@example"', WORK, None, False),
    ('value gt "a"', WORK, None, True),
    ('value lt "a"', WORK, None, False),
    ('value ge "babs@example.com"', WORK, None, True),
    ('value le "babs@example.com"', WORK, None, True),
    ("primary eq true", WORK, None, True),
    ("primary eq true", HOME, None, False),
    ("primary eq false", HOME, None, False),
    ("primary eq false", {"primary": False}, None, True),
    ("primary eq true", {"primary": "True"}, None, True),
    ("primary eq false", {"primary": "FALSE"}, None, True),
    ('primary eq "true"', {"primary": True}, None, False),
    ("primary pr", WORK, None, True),
    ("primary pr", HOME, None, False),
    ("display pr", {"display": ""}, None, False),
    ("display pr", {"display": None}, None, False),
    ("display pr", MEMBER, None, True),
    ("display eq null", HOME, None, True),
    ("display eq null", MEMBER, None, False),
    ('display ne "x"', HOME, None, True),
    ('type ne "work"', HOME, None, True),
    ('type ne "work"', WORK, None, False),
    ('type ne "WORK"', WORK, None, False),
    ('value eq "2819c223-7f76-453a-919d-413861904646"', MEMBER, _case_exact_value, True),
    ('value eq "2819C223-7F76-453A-919D-413861904646"', MEMBER, _case_exact_value, False),
    ('display co "jensen"', MEMBER, _case_exact_value, True),
    ('type eq "work" and value co "example.com"', WORK, None, True),
    ('type eq "work" and value co "example.com"', HOME, None, False),
    ('type eq "work" or type eq "home"', HOME, None, True),
    ('not (type eq "work")', HOME, None, True),
    ('not (type eq "work")', WORK, None, False),
    ('type eq "home" or not (primary pr) and value ew ".com"', WORK, None, False),
    ('postalCode eq "91608"', ADDRESS, None, True),
    ('streetaddress co "universal"', ADDRESS, None, True),
    # other types than the filter's never match, and unknown keys are missing
    ("value eq 5", {"value": 5}, None, True),
    ("value gt 4", {"value": 5}, None, True),
    ("value eq 5", {"value": "5"}, None, True),
    ('value eq "5"', {"value": 5}, None, False),
    ("value eq true", {"value": "x"}, None, False),
    ('value co "a"', {"value": 5}, None, False),
    ('nothere eq "x"', WORK, None, False),
    ("nothere pr", WORK, None, False),
    ('nothere ne "x"', WORK, None, True),
]


@pytest.mark.parametrize(("text", "element", "case_exact", "expected"), MATCHES)
def test_matches_evaluates_a_value_filter_on_one_element(text, element, case_exact, expected):
    node = parse_patch_path(f"emails[{text}]").value_filter
    assert matches(node, element, case_exact) is expected


def test_matches_follows_a_nested_complex_value_and_a_value_path():
    element = {"name": {"givenName": "Barbara"}, "emails": [WORK, HOME]}
    assert matches(parse_filter('name.givenName sw "bar"'), element)
    assert not matches(parse_filter("name.familyName pr"), element)
    assert matches(parse_filter('emails[type eq "home"]'), element)
    assert not matches(parse_filter('emails[type eq "other"]'), element)


def test_an_escaped_surrogate_pair_decodes_to_one_character():
    """JSON spells characters beyond U+FFFF as two escapes (RFC 8259 §7)."""
    assert parse_filter(r'displayName eq "\ud83d\ude00 \u00e9"') == c("displayName", "eq", "😀 é")


@pytest.mark.parametrize(
    "text",
    [
        r'userName eq "\u0000"',
        'userName eq "a\x00b"',
        "userName\x00 eq 1",
        r'userName eq "\ud83d"',
        r'userName eq "\ude00\ud83d"',
        r'userName eq "\ud83d\u0041"',
    ],
)
def test_characters_no_value_can_hold_are_an_invalid_filter_not_a_database_error(text):
    """U+0000 cannot be stored in PostgreSQL text and a lone surrogate cannot be encoded
    as UTF-8 at all, so either would fail in the database driver."""
    with pytest.raises(InvalidFilter, match="U\\+0000 or an unpaired surrogate"):
        parse_filter(text)
    with pytest.raises(InvalidPath, match="U\\+0000 or an unpaired surrogate"):
        parse_patch_path(f"emails[{text}]")


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "a@b.c"',
        ' userName  EQ  "x" ',
        "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"Bob\"",
        'name.givenName sw "J"',
        'emails eq ""',
        'userName\teq\t"x"',
        'meta.lastModified gt "2011-05-13T04:42:34Z"',
        'userName eq "üé"',
        'user:name eq "x"',
    ],
)
def test_a_simple_comparison_reads_as_the_parser_reads_it(text):
    from willow.scim.protocol import filter as grammar

    parser = grammar._Parser(text, grammar.InvalidFilter, "filter")
    expected = parser.filter()
    parser.finish()
    assert grammar._simple_comparison(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'and eq "x"',
        'userName pr "x"',
        'x.y.z eq "q"',
        ':x eq "x"',
        'a eq "\\u0041"',
        'a eq "x\x00"',
    ],
)
def test_what_the_simple_reading_does_not_cover_goes_to_the_parser(text):
    from willow.scim.protocol import filter as grammar

    assert grammar._simple_comparison(text) is None
