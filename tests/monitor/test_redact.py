"""Redaction rules, tested as pure functions."""

from __future__ import annotations

import json

import pytest

from willow.monitor.redact import REDACTED
from willow.monitor.redact import is_secret_key
from willow.monitor.redact import redact_body
from willow.monitor.redact import redact_filter
from willow.monitor.redact import redact_headers
from willow.monitor.redact import redact_query
from willow.monitor.redact import redact_text
from willow.monitor.redact import redact_value
from willow.monitor.redact import truncate

CAP = 64 * 1024


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("Password", True),
        ("PASSWORD", True),
        ("urn:ietf:params:scim:schemas:core:2.0:User:password", True),
        ("newPassword", True),
        ("authorization", True),
        ("X-Api-Key", True),
        ("api_key", True),
        ("access_token", True),
        ("client_secret", True),
        ("Bearer", True),
        ("Set-Cookie", True),
        ("userName", False),
        ("displayName", False),
        ("x509Certificates", False),
        ("Content-Type", False),
        ("User-Agent", False),
    ],
)
def test_secret_keys_are_recognised_in_any_case_and_form(key, secret):
    assert is_secret_key(key) is secret


def test_passwords_are_redacted_at_any_depth():
    body = {
        "userName": "alice",
        "Password": "top",
        "name": {"givenName": "A", "password": "x"},
        "emails": [{"value": "a@example.com", "secret": {"nested": "s"}}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": "m", "credentials": [{"password": "deep"}]}
        },
    }
    rv = redact_value(body)
    assert rv["Password"] == REDACTED
    assert rv["name"] == {"givenName": "A", "password": REDACTED}
    assert rv["emails"] == [{"value": "a@example.com", "secret": {"nested": REDACTED}}]
    ext = rv["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    assert ext["manager"]["credentials"] == [{"password": REDACTED}]
    assert rv["userName"] == "alice"
    assert "top" not in json.dumps(rv) and "deep" not in json.dumps(rv)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "password", "value": "s3cret"},
        {"Op": "Replace", "Path": "password", "Value": "s3cret"},
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "value": "s3cret",
        },
        {"op": "replace", "value": {"password": "s3cret", "active": True}},
    ],
)
def test_a_patch_operation_that_sets_a_password_hides_the_value(operation):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [operation]}
    stored = redact_body(json.dumps(body), CAP)
    assert "s3cret" not in stored
    assert REDACTED in stored


def test_booleans_and_nulls_under_a_secret_key_stay_readable():
    config = {"changePassword": {"supported": False}, "password": None, "token": 12345}
    assert redact_value(config) == {
        "changePassword": {"supported": False},
        "password": None,
        "token": REDACTED,
    }


def test_a_patch_operation_on_another_path_keeps_its_value():
    body = {"Operations": [{"op": "replace", "path": "displayName", "value": "Tokens team"}]}
    assert redact_value(body) == body


def test_json_without_secrets_is_stored_exactly_as_received():
    raw = '{"userName":"bjensen",  "active":true}'
    assert redact_body(raw, CAP) == raw
    assert redact_body(raw.encode(), CAP) == raw


def test_json_that_mentions_a_secret_word_only_in_values_is_stored_unchanged():
    raw = '{"displayName": "Token ring team"}'
    assert redact_body(raw, CAP) == raw


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ('{"userName": "a", "password": "hunter2", "oops"', "hunter2"),
        ('{"password":"unterminated', "unterminated"),
        ("userName=a&password=hunter2&x=1", "hunter2"),
        ('{"Password" : null, "x": 1', "null"),
    ],
)
def test_secrets_in_text_that_is_not_valid_json_are_hidden(text, leaked):
    stored = redact_body(text, CAP)
    assert leaked not in stored
    assert REDACTED in stored


def test_a_key_spelled_with_unicode_escapes_is_still_found():
    stored = redact_body('{"pass\\u0077ord": "hunter2"}', CAP)
    assert "hunter2" not in stored


def test_a_secret_word_in_a_value_alone_needs_no_rewriting():
    raw = '{"authenticationSchemes": [{"type": "oauthbearertoken"}], "n": 1}'
    assert redact_body(raw, CAP) == raw


def test_non_json_bodies_are_stored_as_text():
    assert redact_body(b"plain text body", CAP) == "plain text body"
    # Invalid UTF-8 is replaced; (b"\xff\xfe" would be a UTF-16 byte-order mark: read as
    # UTF-16, as the JSON parser reads it.)
    assert redact_body(b"\xff\xc0 binary", CAP) == "\ufffd\ufffd binary"
    assert redact_text("nothing to hide") == "nothing to hide"


def test_empty_bodies_are_stored_as_null():
    assert redact_body(b"", CAP) is None
    assert redact_body(None, CAP) is None


def test_bodies_over_the_cap_are_truncated_with_a_visible_marker():
    raw = json.dumps({"userName": "x" * 500})
    stored = redact_body(raw, 100)
    assert stored.startswith(raw[:100])
    assert f"truncated by Willow: {len(raw)} bytes received, first 100 stored" in stored


def test_truncation_never_splits_a_character():
    stored = truncate("é" * 10, 5)  # 2 bytes each
    assert stored.startswith("éé") and not stored.startswith("ééé")
    assert "first 4 stored" in stored


def test_redaction_happens_before_truncation():
    raw = json.dumps({"password": "p" * 200, "userName": "u"})
    stored = redact_body(raw, 50)
    assert "ppp" not in stored


def test_authorization_and_cookie_headers_are_dropped_and_token_headers_hidden():
    headers = [
        ("Authorization", "Bearer wsk_abc"),
        ("Cookie", "session=x"),
        ("Proxy-Authorization", "Basic x"),
        ("X-Api-Key", "k"),
        ("X-Auth-Token", "t"),
        ("User-Agent", "Okta SCIM Client 1.0.0"),
        ("Accept", "application/scim+json"),
    ]
    assert redact_headers(headers) == {
        "X-Api-Key": REDACTED,
        "X-Auth-Token": REDACTED,
        "User-Agent": "Okta SCIM Client 1.0.0",
        "Accept": "application/scim+json",
    }


def test_repeated_headers_are_joined():
    assert redact_headers([("Accept", "a"), ("Accept", "b")]) == {"Accept": "a, b"}


def test_token_parameters_in_the_query_string_are_hidden():
    assert redact_query("access_token=abc&count=2") == f"access_token={REDACTED}&count=2"
    assert redact_query('filter=userName eq "a"') == 'filter=userName eq "a"'
    assert redact_query("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('password eq "hunter2"', 'password eq "[REDACTED]"'),
        (
            'PASSWORD  EQ "a\\"b" and userName eq "x"',
            'PASSWORD  EQ "[REDACTED]" and userName eq "x"',
        ),
        (
            'urn:ietf:params:scim:schemas:core:2.0:User:password co hunter2',
            'urn:ietf:params:scim:schemas:core:2.0:User:password co "[REDACTED]"',
        ),
        ('filter=password+eq+"hunter2"&count=1', 'filter=password+eq+"[REDACTED]"&count=1'),
        ('userName eq "password"', 'userName eq "password"'),
        ('title co "token" or (password ne "x")', 'title co "token" or (password ne "[REDACTED]")'),
    ],
)
def test_a_value_compared_to_a_secret_attribute_in_a_filter_is_hidden(text, expected):
    assert redact_filter(text) == expected


# -- the pre-checks that spare most bodies a parse -------------------------------------

_PIECES = ['"', ":", " ", "\t", "a", "{", "}", ",", "\\", "token", "password", "Secret",
           "API_KEY", "api-key", "private_key", "bearer", "path", "filter", "PATH", "é"]


def test_the_fast_json_secret_check_answers_as_the_regex_does():
    """The regex (quadratic on a long string full of secret words, so only an oracle
    here) states the rule; the check must give its answer on any text."""
    import random
    import re

    from willow.monitor.redact import _HINT_WORDS
    from willow.monitor.redact import json_may_name_secret

    words = "|".join(_HINT_WORDS)
    oracle = re.compile(
        r'"[^"]*(?:' + words + r')[^"]*"\s*:|"(?:path|filter)"\s*:\s*"[^"]*(?:' + words + ")",
        re.IGNORECASE,
    )

    rng = random.Random(7)
    texts = [
        '{"userName":"a","password":"x"}',
        '{"a": "password"}',
        '{"path" : "password", "op":"replace"}',
        '{"Operations":[{"op":"replace","path":"emails[type eq \\"work\\"].secret"}]}',
        '{"filter": "x eq \\"token\\""}',
        '"filter"  :  "password',
        '{"mytoken" \t :1}',
        '{"type":"oauthbearertoken"}',
        "token",
        '"token',
    ]
    texts += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14)))
              for _ in range(20000)]
    for text in texts:
        assert json_may_name_secret(text) == (oracle.search(text) is not None), text


def test_the_fast_json_secret_check_stays_linear_on_a_text_full_of_secret_words():
    import time

    from willow.monitor.redact import json_may_name_secret

    one_string = '"' + "token" * 200_000 + '"'
    many_strings = '"a" token ' * 100_000
    started = time.process_time()
    assert not json_may_name_secret(one_string)
    assert not json_may_name_secret(many_strings)
    # Quadratic work on a megabyte would take minutes; linear takes milliseconds.
    assert time.process_time() - started < 5


def test_headers_read_from_the_environ_are_redacted_as_header_lists_are():
    from willow.monitor.redact import redact_environ_headers

    environ = {
        "REQUEST_METHOD": "GET",
        "wsgi.input": object(),
        "willow.path_as_sent": "/scim/v2/Users",
        "HTTP_AUTHORIZATION": "Bearer wsk_secret",
        "HTTP_COOKIE": "session=abc",
        "HTTP_X_API_KEY": "k-123",
        "HTTP_USER_AGENT": "Okta SCIM Client 1.0.0",
        "HTTP_X_EMPTY": "",
        "CONTENT_TYPE": "application/scim+json",
        "CONTENT_LENGTH": "",
    }
    expected = {
        "X-Api-Key": REDACTED,
        "User-Agent": "Okta SCIM Client 1.0.0",
        "X-Empty": "",
        "Content-Type": "application/scim+json",
    }
    # Twice: the second time every key's rule comes from the map.
    assert redact_environ_headers(environ) == expected
    assert redact_environ_headers(environ) == expected


# -- bodies in other encodings, refused bodies -----------------------------------------

_USER = {"userName": "alice@example.com", "password": "hunter2"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_body_is_decoded_as_the_json_parser_decodes_it_before_redaction(encoding):
    """json.loads reads UTF-16 and UTF-32 bytes (RFC 8259 §8.1), so Willow accepts them;
    read as UTF-8 their keys hid from every check."""
    stored = redact_body(json.dumps(_USER).encode(encoding), CAP)
    assert json.loads(stored) == {"userName": "alice@example.com", "password": REDACTED}


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("{'userName': 'a', 'password': 'hunter two'}", "hunter two"),
        ("{password: hunter2, userName: a}", "hunter2"),
        ("<User><userName>a</userName><password>hunter two</password></User>", "hunter two"),
        ('<User userName="a" password="hunter two"/>', "hunter two"),
        ("userName=a&password=hunter+two&x=1", "hunter+two"),
        ("password: correct horse\nuserName: a", "correct horse"),
        ('{"userName": "a", "password": ["hunter2", "other"], "x"', "other"),
        ('{"userName": "a", "secret": {"value": "hunter2"}, "x"', "hunter2"),
        (
            "--b\r\nContent-Disposition: form-data; name=\"userName\"\r\n\r\na\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter two\r\n"
            "--b--\r\n",
            "hunter two",
        ),
        (
            "--b\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\nhunter two\r\n--b--\r\n",
            "hunter two",
        ),
    ],
)
def test_secrets_in_refused_bodies_of_any_shape_are_hidden(text, leaked):
    stored = redact_body(text.encode(), CAP)
    assert leaked not in stored
    assert REDACTED in stored


def test_refused_bodies_keep_what_holds_no_secret():
    assert redact_body(b"<User><userName>a</userName></User>", CAP) == (
        "<User><userName>a</userName></User>"
    )
    stored = redact_body(b"<User><password>x</password>\n  <userName>a</userName></User>", CAP)
    assert stored == f"<User><password>{REDACTED}</password>\n  <userName>a</userName></User>"


def test_a_key_given_twice_is_stored_as_parsed():
    """The parser keeps the last value; the text kept the first too."""
    stored = redact_body(b'{"userName": "a", "password": "hunter2", "password": null}', CAP)
    assert "hunter2" not in stored
    assert json.loads(stored) == {"userName": "a", "password": None}


def test_a_patch_path_on_a_secret_attribute_hides_the_values_its_filter_compares():
    body = {
        "Operations": [
            {"op": "replace", "path": 'password[value eq "s3cret"]', "value": "n3w"},
            {"op": "replace", "path": 'emails[value eq "a@example.com"]', "value": "b"},
        ]
    }
    assert redact_value(body)["Operations"] == [
        {"op": "replace", "path": f'password[value eq "{REDACTED}"]', "value": REDACTED},
        {"op": "replace", "path": 'emails[value eq "a@example.com"]', "value": "b"},
    ]


@pytest.mark.parametrize(
    "operation",
    [
        '{"op": "replace", "path": "password", "Path": "displayName", "value": "s3cret"}',
        '{"op": "replace", "Path": "displayName", "path": "password", "value": "s3cret"}',
        '{"op": "replace", "PATH": "displayName", "pAtH": "password", "VALUE": "s3cret"}',
        '{"op": "replace", "path": "displayName", "Path": "password", "value": "a", '
        '"Value": "s3cret"}',
    ],
)
def test_a_patch_operation_with_several_paths_hides_every_value_if_any_names_a_secret(
    operation,
):
    stored = redact_body('{"Operations": [' + operation + "]}", CAP)
    assert "s3cret" not in stored
    assert REDACTED in stored


# -- API tokens, headers ---------------------------------------------------------------

TOKEN = "wsk_AXiJWq19pHGNDjW3TqWI-bJu9zRVJkmo3pI4M21UpQ4"
SHOWN = f"wsk_AXiJWq{REDACTED}"  # the display prefix the console shows, and no more


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (f'{{"displayName": "{TOKEN}"}}', f'{{"displayName": "{SHOWN}"}}'),
        (f"note={TOKEN}&x=1", f"note={SHOWN}&x=1"),
        (
            '{"displayName": "wsk\\u005fAXiJWq19pHGNDjW3TqWI"}',
            f'{{"displayName":"{SHOWN}"}}',
        ),
    ],
)
def test_an_api_token_is_hidden_anywhere_in_a_body(body, stored):
    assert redact_body(body, CAP) == stored


def test_an_api_token_is_hidden_anywhere_in_a_query_string():
    assert redact_query(f"startIndex=1&x={TOKEN}") == f"startIndex=1&x={SHOWN}"
    assert redact_query(f'filter=userName eq "{TOKEN}"') == f'filter=userName eq "{SHOWN}"'


@pytest.mark.parametrize(
    "name",
    [
        "X-Functions-Key",
        "Ocp-Apim-Subscription-Key",
        "X-Api-Key",
        "X-Auth",
        "X-Auth-Token",
        "X-Hub-Signature-256",
        "X-Session-Id",
        "X-Client-Secret",
        "X-Credential",
        "X-Password",
    ],
)
def test_headers_named_like_a_credential_are_hidden(name):
    assert redact_headers([(name, "opaque-value")]) == {name: REDACTED}


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Bearer abc.def.ghi", f"Bearer {REDACTED}"),
        ("bearer abc", f"bearer {REDACTED}"),
        ("Basic aWRwOnNlY3JldA==", f"Basic {REDACTED}"),
        ('Digest username="idp", response="6629fae4"', f"Digest {REDACTED}"),
        ("Negotiate YIIJvwYGKwYBBQUCoIIJ", f"Negotiate {REDACTED}"),
        ("SSWS 00abcdef", f"SSWS {REDACTED}"),
        (f"{TOKEN}", SHOWN),
        (f"note {TOKEN} end", f"note {SHOWN} end"),
    ],
)
def test_credentials_are_hidden_by_their_shape_in_any_header(value, stored):
    assert redact_headers([("X-Forwarded-Identity", value)]) == {"X-Forwarded-Identity": stored}


def test_harmless_headers_stay_readable():
    headers = [
        ("User-Agent", "Okta SCIM Client 1.0.0"),
        ("Content-Type", "application/scim+json; charset=utf-8"),
        ("Accept", "application/scim+json"),
        ("X-Request-Id", "3f2c9a"),
        ("Host", "willow.example.com"),
        ("Accept-Encoding", "gzip, deflate"),
        ("X-Forwarded-For", "10.0.0.7"),
        ("If-Match", 'W/"3"'),
    ]
    # Twice: the second time the values come from the set of known harmless values.
    assert redact_headers(headers) == dict(headers)
    assert redact_headers(headers) == dict(headers)


def test_long_client_chosen_names_are_judged_without_being_cached():
    from willow.monitor.redact import _cached_is_secret_key

    before = _cached_is_secret_key.cache_info().currsize
    assert is_secret_key("x" * 10_000 + "password")
    assert not is_secret_key("y" * 10_000)
    assert _cached_is_secret_key.cache_info().currsize == before


def test_json_whose_values_read_like_secret_keys_is_stored_unchanged():
    raw = '{"displayName": "Tokens: many", "title": "password=reset team"}'
    assert redact_body(raw, CAP) == raw
