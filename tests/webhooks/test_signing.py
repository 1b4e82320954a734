"""Standard Webhooks signatures, checked against the spec's published example and the
reference library (``standardwebhooks``)."""

from __future__ import annotations

import base64
from datetime import UTC
from datetime import datetime

import pytest
from standardwebhooks.webhooks import Webhook

from willow.webhooks import signing

# The example of the Standard Webhooks specification (and of its libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_spec_example():
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_secret_without_its_prefix_signs_the_same():
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert signing.sign(bare, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_generated_secret_is_whsec_and_24_bytes_of_base64():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 24
    assert signing.generate_secret() != secret


def test_reference_library_verifies_our_headers():
    secret = signing.generate_secret()
    body = '{"type":"user.created","data":{"userName":"ałice"}}'
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([secret], "evt_" + "a" * 32, now, body)
    assert Webhook(secret).verify(body, headers) is not None


def test_rotation_overlap_sends_one_signature_per_secret_and_either_verifies():
    old, new = signing.generate_secret(), signing.generate_secret()
    body = b'{"a":1}'
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers([new, old], "evt_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
        signing.verify(secret, headers, body, now=now)


def test_verify_refuses_a_changed_body_a_foreign_secret_and_an_old_timestamp():
    secret = signing.generate_secret()
    headers = signing.headers([secret], "evt_1", 1_000_000, "{}")
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, headers, "{ }", now=1_000_000)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(signing.generate_secret(), headers, "{}", now=1_000_000)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, headers, "{}", now=1_000_000 + 301)
    signing.verify(secret, headers, "{}", now=1_000_000 + 300)


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!", "whsec_@@@@"])
def test_a_secret_that_is_not_base64_is_refused(bad):
    with pytest.raises(signing.InvalidSecret):
        signing.sign(bad, "evt_1", 1, "{}")


def test_the_standard_library_example_in_the_docs_verifies_our_deliveries():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, re.S)[1]
    namespace: dict = {}
    exec(example, namespace)  # noqa: S102 - our own documentation
    secret, old = signing.generate_secret(), signing.generate_secret()
    body = b'{"type":"user.deactivated"}'
    headers = signing.headers([secret, old], "evt_1", int(datetime.now(UTC).timestamp()), body)
    namespace["verify"](secret, headers, body)
    namespace["verify"](old, headers, body)
    with pytest.raises(ValueError, match="no valid signature"):
        namespace["verify"](signing.generate_secret(), headers, body)
