"""Customer tokens: signed, expiring, and impossible to edit without the secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.customers.identity import BadToken, bind, sign, verify
from makegood.errors import MakegoodError

SECRET = "a-secret-of-thirty-two-characters!"


def test_a_token_names_the_customer_it_was_signed_for():
    assert verify(sign("C-1001", SECRET), SECRET) == "C-1001"


def test_an_expired_token_is_refused():
    token = sign("C-1001", SECRET, now=1_000)
    with pytest.raises(BadToken, match="expired"):
        verify(token, SECRET, now=1_000 + 8 * 3600 + 1)
    assert verify(token, SECRET, now=1_000 + 8 * 3600 - 1) == "C-1001"


def test_without_a_configured_secret_nothing_is_trusted():
    with pytest.raises(BadToken, match="no identity secret"):
        verify(sign("C-1001", SECRET), None)


def test_a_short_secret_cannot_sign():
    with pytest.raises(MakegoodError, match="at least 16 bytes"):
        sign("C-1001", "short")


@given(st.integers(min_value=0), st.characters(blacklist_categories=("Cs",)))
def test_changing_any_character_of_a_token_breaks_it(position, replacement):
    token = sign("C-1001", SECRET, now=2_000_000_000)
    i = position % len(token)
    edited = token[:i] + replacement + token[i + 1 :]
    if edited == token:
        return
    with pytest.raises(BadToken):
        verify(edited, SECRET, now=2_000_000_000)


@pytest.mark.parametrize("junk", [None, 42, "", "a.b", "v2.x.y", "v1..", "x" * 5000, {"sub": "C-1001"}])
def test_junk_is_a_bad_token_never_a_crash(junk):
    with pytest.raises(BadToken):
        verify(junk, SECRET)


def test_the_first_valid_token_binds_and_later_others_are_refused():
    mine, theirs = sign("C-1001", SECRET), sign("C-1003", SECRET)
    binding = bind([None, "forged", mine, theirs, mine], SECRET)
    assert binding.customer_id == "C-1001"
    assert binding.refused == ("C-1003",)
    assert bind(["forged", sign("C-1001", "another-secret-of-enough-bytes")], SECRET).customer_id is None
