"""Wallboard users in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.store import Store
from ivr.store.models import WallboardSession
from ivr.store.users import BadUserName, UserExists, UserStore
from tests.support.moments import instant

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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["", "ana lima", "-ana", "a" * 65, "ana\n", "ána"])
def test_odd_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(BadUserName):
        UserStore(store.engine).add(name, "scrypt$x", NOW)


LATER = instant("2026-03-02T22:00+00:00")


def test_a_session_lasts_until_it_ends_or_expires(store: Store) -> None:
    users = UserStore(store.engine)
    users.add("ana", "scrypt$hash-a", NOW)
    users.open_session("s-morning", "ana", NOW, LATER)
    users.open_session("s-phone", "ana", NOW, LATER)
    assert users.session_user("s-morning", NOW) == "ana"
    assert users.session_user("s-morning", LATER) is None  # expired
    users.end_session("s-morning")  # signed out there...
    assert users.session_user("s-morning", NOW) is None
    assert users.session_user("s-phone", NOW) == "ana"  # ...not on the phone
    assert users.session_user("never-opened", NOW) is None


def test_a_new_password_or_removal_ends_every_session_of_the_user(store: Store) -> None:
    users = UserStore(store.engine)
    users.add("ana", "scrypt$hash-a", NOW)
    users.add("bo", "scrypt$hash-b", NOW)
    for session_id, name in (("a1", "ana"), ("a2", "ana"), ("b1", "bo")):
        users.open_session(session_id, name, NOW, LATER)
    assert users.set_password("ana", "scrypt$new")
    assert [users.session_user(s, NOW) for s in ("a1", "a2", "b1")] == [None, None, "bo"]
    users.open_session("b2", "bo", NOW, LATER)
    assert users.remove("bo")
    users.add("bo", "scrypt$someone-else", NOW)  # the name given to someone new
    assert users.session_user("b1", NOW) is None and users.session_user("b2", NOW) is None


def test_a_sign_in_clears_the_users_expired_sessions(store: Store) -> None:
    users = UserStore(store.engine)
    users.add("ana", "scrypt$hash-a", NOW)
    users.open_session("old", "ana", NOW, LATER)
    users.open_session("new", "ana", LATER, instant("2026-03-03T10:00+00:00"))
    with store.engine.connect() as connection:
        kept = connection.execute(select(WallboardSession.id)).scalars().all()
    assert kept == ["new"]
