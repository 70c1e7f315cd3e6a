"""The paths callers took through the menus, tallied for `ivr graph --stats`: each distinct
path with its region, language and outcome, and how many calls took it in a time window.

Tallied in the database (GROUP BY), so what is read grows with the number of different paths,
not of calls (most callers press the same few keys), and bounded by MAX_PATHS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text

from ivr.store.models import Call

# Distinct paths read at most; past it the rarest are left out, and the tallies say so.
MAX_PATHS = 20_000
# An operator's read over days of calls may take longer than the statement bound made for
# webhooks (ivr.store.repository.STATEMENT_MS); it still has one.
READ_MS = 120_000


@dataclass(frozen=True)
class PathTally:
    """`calls` calls of `region` in `language` that took `path` and ended with `outcome`."""

    region: str | None
    language: str | None
    path: str
    outcome: str
    calls: int


@dataclass(frozen=True)
class PathTallies:
    tallies: tuple[PathTally, ...]  # the most taken first
    complete: bool  # False: more distinct paths than read; the rarest were left out


def path_tallies(
    engine: Engine,
    start: datetime,
    end: datetime,
    regions: Sequence[str] | None = None,
    limit: int = MAX_PATHS,
) -> PathTallies:
    """The paths of the calls that started in [start, end) (of `regions` only, if given)."""
    calls = func.count().label("calls")
    columns = (Call.region, Call.language, Call.path, Call.outcome)
    query = select(*columns, calls).where(Call.created_at >= start, Call.created_at < end)
    if regions is not None:
        query = query.where(Call.region.in_(regions))
    query = query.group_by(*columns).order_by(calls.desc(), *columns).limit(limit + 1)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL statement_timeout = {READ_MS}"))
        rows = connection.execute(query).all()
    tallies = tuple(
        PathTally(region, language, path or "", outcome, int(count))
        for region, language, path, outcome, count in rows[:limit]
    )
    return PathTallies(tallies, complete=len(rows) <= limit)
