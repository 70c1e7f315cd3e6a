"""Wallboard users in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ivr.store import Store
from ivr.store.users import BadUserName, UserExists, UserStore
from tests.conftest import instant

NOW = instant("2026-03-02T10:00+00:00")


def test_users_are_added_once_listed_by_name_and_removed(store: Store) -> None:
    users = UserStore(store.engine)
    users.add("zoe", "scrypt$hash-z", NOW)
    users.add("ana", "scrypt$hash-a", NOW)
    with pytest.raises(UserExists):
        users.add("ana", "scrypt$other", NOW)
    assert [user.name for user in users.all()] == ["ana", "zoe"]
    found = users.get("ana")
    assert found is not None and found.password_hash == "scrypt$hash-a"
    assert found.created_at == NOW
    assert users.get("ANA") is None  # names are exact
    assert users.remove("ana") and not users.remove("ana")
    assert users.get("ana") is None


def test_a_password_change_replaces_the_hash(store: Store) -> None:
    users = UserStore(store.engine)
    users.add("ana", "scrypt$old", NOW)
    assert users.set_password("ana", "scrypt$new")
    assert users.get("ana").password_hash == "scrypt$new"  # type: ignore[union-attr]
    assert not users.set_password("nobody", "scrypt$new")


@pytest.mark.parametrize("name", ["", "ana lima", "-ana", "a" * 65, "ana\n", "ána"])
def test_odd_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(BadUserName):
        UserStore(store.engine).add(name, "scrypt$x", NOW)
