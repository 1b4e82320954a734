"""Which strings can be stored: U+0000 and unpaired surrogates cannot (protocol.text)."""

from __future__ import annotations

import pytest

from willow.scim.protocol.text import is_storable
from willow.scim.protocol.text import storable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("plain ascii", True),
        ("nul \x00 inside", False),
        ("\x00", False),
        ("Zoë", True),
        ("Zoë \x00", False),
        ("lone \ud800 surrogate", False),
        ("\udfff", False),
        ("emoji \U0001f600", True),
    ],
)
def test_ascii_and_other_text_is_storable_unless_it_holds_nul_or_a_lone_surrogate(
    text, expected
):
    assert is_storable(text) is expected


def test_unstorable_characters_are_replaced_with_the_replacement_character():
    assert storable("a\x00b\ud800c") == "a\ufffdb\ufffdc"
    assert storable("kept") == "kept"
