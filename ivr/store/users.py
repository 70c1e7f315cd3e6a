"""Wallboard users, a name and a scrypt hash of the password (ivr.store.passwords), and their
sessions: one row per sign-in, which every replica checks on every request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.store.models import User, WallboardSession

# What a user name may be: short, no spaces, safe to print anywhere (logs, the page header).
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class UserExists(ValueError):
    """A user of that name is already there."""


class BadUserName(ValueError):
    """A name outside USER_NAME."""


@dataclass(frozen=True)
class UserRecord:
    name: str
    password_hash: str
    created_at: datetime


def check_name(name: str) -> str:
    """`name` when it is a valid user name; BadUserName otherwise."""
    if not USER_NAME.fullmatch(name):
        raise BadUserName(
            f"{name!r}: a user name is 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str, password_hash: str, at: datetime) -> None:
        """A new user; UserExists when the name is taken (names are unique, case included)."""
        check_name(name)
        try:
            with Session(self.engine) as session, session.begin():
                session.add(User(name=name, password_hash=password_hash, created_at=at))
        except IntegrityError:
            raise UserExists(f"user {name!r} already exists") from None

    def get(self, name: str) -> UserRecord | None:
        with Session(self.engine) as session:
            user = session.get(User, name)
            return None if user is None else _record(user)

    def all(self) -> list[UserRecord]:
        with Session(self.engine) as session:
            return [_record(user) for user in session.scalars(select(User).order_by(User.name))]

    def set_password(self, name: str, password_hash: str) -> bool:
        """False when there is no such user. The user's sessions end (on every replica)."""
        statement = update(User).where(User.name == name).values(password_hash=password_hash)
        with self.engine.begin() as connection:
            connection.execute(_sessions_of(name))
            return bool(connection.execute(statement).rowcount)

    def remove(self, name: str) -> bool:
        """False when there is no such user. The user's sessions end with it."""
        with self.engine.begin() as connection:
            connection.execute(_sessions_of(name))
            return bool(connection.execute(delete(User).where(User.name == name)).rowcount)

    def open_session(self, session_id: str, name: str, at: datetime, expires_at: datetime) -> None:
        """Keep a new sign-in of `name`; the user's expired sessions go at the same time."""
        with Session(self.engine) as session, session.begin():
            session.execute(_sessions_of(name).where(WallboardSession.expires_at <= at))
            session.add(
                WallboardSession(
                    id=session_id, user_name=name, created_at=at, expires_at=expires_at
                )
            )

    def session_user(self, session_id: str, now: datetime) -> str | None:
        """The user of a session that was opened and has neither ended nor expired."""
        statement = (
            select(User.name)
            .join(WallboardSession, WallboardSession.user_name == User.name)
            .where(WallboardSession.id == session_id, WallboardSession.expires_at > now)
        )
        with self.engine.connect() as connection:
            found: str | None = connection.execute(statement).scalar_one_or_none()
            return found

    def end_session(self, session_id: str) -> None:
        """Sign-out: the session's cookie is refused from now on, wherever it is sent."""
        with self.engine.begin() as connection:
            connection.execute(delete(WallboardSession).where(WallboardSession.id == session_id))


def _sessions_of(name: str) -> Delete:
    return delete(WallboardSession).where(WallboardSession.user_name == name)


def _record(user: User) -> UserRecord:
    return UserRecord(user.name, user.password_hash, user.created_at)
