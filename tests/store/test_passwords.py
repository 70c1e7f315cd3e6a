"""Passwords and PINs are kept only as salted scrypt hashes."""

from __future__ import annotations

from ivr.store.passwords import hash_secret, verify_secret


def test_a_secret_matches_its_own_hash_only() -> None:
    stored = hash_secret("4821", cost=2**4)
    assert verify_secret("4821", stored)
    assert not verify_secret("4822", stored)
    assert not verify_secret("", stored)
    assert "4821" not in stored


def test_two_hashes_of_one_secret_differ_by_their_salt() -> None:
    first, second = hash_secret("same", cost=2**4), hash_secret("same", cost=2**4)
    assert first != second
    assert verify_secret("same", first) and verify_secret("same", second)


def test_the_default_cost_is_the_one_stored() -> None:
    assert hash_secret("pin").split("$")[1:4] == ["16384", "8", "1"]


def test_unreadable_or_tampered_hashes_never_match() -> None:
    stored = hash_secret("4821", cost=2**4)
    scheme, cost, r, p, salt, digest = stored.split("$")
    for broken in (
        "",
        "4821",
        f"bcrypt${cost}${r}${p}${salt}${digest}",
        f"{scheme}$15${r}${p}${salt}${digest}",  # not a power of two
        f"{scheme}${2**30}${r}${p}${salt}${digest}",  # would need gigabytes
        f"{scheme}${cost}${r}${p}$***${digest}",
        f"{scheme}${cost}${r}${p}${salt}${digest[:-2]}AA",
        f"{scheme}${cost}$0${p}${salt}${digest}",  # no block size
        f"{scheme}${cost}${r}$0${salt}${digest}",  # no parallelism
        f"{scheme}${cost}${r}${p}${salt}$",  # no digest
        f"{scheme}${2**20}$64${p}${salt}${digest}",  # more memory than OpenSSL allows
    ):
        assert not verify_secret("4821", broken), broken
