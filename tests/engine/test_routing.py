"""Which free agent routing gives a caller: skill level first, then the region's strategy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ivr.config.regions import RegionBook
from ivr.engine.line_state import Skills
from ivr.engine.routing import IdleAgent, first_choice, ranked

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MANDARIN = Skills(("zh-CN",), ("cn",))


def agent(
    name: str,
    idle_minutes: int,
    *,
    offered: int | None = None,
    calls: int = 0,
    skills: Skills = MANDARIN,
) -> IdleAgent:
    offered_at = None if offered is None else T0 - timedelta(minutes=offered)
    return IdleAgent(
        name, "CA" + name, skills, T0 - timedelta(minutes=idle_minutes), offered_at, calls
    )


def names(agents: list[IdleAgent]) -> list[str]:
    return [a.name for a in agents]


def test_the_agent_idle_longest_comes_first_by_default(book: RegionBook) -> None:
    cn = book.regions["cn"]
    assert cn.routing == "longest-idle"
    free = [agent("ann", 2), agent("ben", 9), agent("cai", 5)]
    assert names(ranked(free, cn, "zh-CN")) == ["ben", "cai", "ann"]


def test_a_higher_level_comes_before_a_longer_wait(book: RegionBook) -> None:
    cn = book.regions["cn"]
    expert = Skills(("zh-CN",), ("cn",), (("zh-CN", 5),))
    novice = Skills(("zh-CN",), ("cn",), (("zh-CN", 2),))
    free = [agent("ann", 30, skills=novice), agent("ben", 1, skills=expert), agent("cai", 10)]
    assert names(ranked(free, cn, "zh-CN")) == ["ben", "cai", "ann"]
    # A level for one region only: in Hong Kong Ben is a beginner.
    local = Skills(("zh-CN",), ("*",), (("zh-CN", 5), ("zh-CN@hk", 1)))
    assert local.level("hk", "zh-CN") == 1 and local.level("cn", "zh-CN") == 5


def test_round_robin_offers_the_agent_offered_a_caller_longest_ago(book: RegionBook) -> None:
    cn = replace(book.regions["cn"], routing="round-robin")
    free = [agent("ann", 30, offered=1), agent("ben", 2, offered=20), agent("cai", 3)]
    assert names(ranked(free, cn, "zh-CN")) == ["cai", "ben", "ann"]


def test_fewest_calls_offers_the_agent_who_talked_to_fewest(book: RegionBook) -> None:
    cn = replace(book.regions["cn"], routing="fewest-calls")
    free = [agent("ann", 30, calls=4), agent("ben", 2, calls=1), agent("cai", 3, calls=1)]
    assert names(ranked(free, cn, "zh-CN")) == ["cai", "ben", "ann"]


def test_agents_who_do_not_serve_the_caller_are_left_out(book: RegionBook) -> None:
    cn = book.regions["cn"]
    english = Skills(("en-US",), ("cn",))
    elsewhere = Skills(("zh-CN",), ("sg",))
    free = [agent("ann", 9, skills=english), agent("ben", 9, skills=elsewhere), agent("cai", 1)]
    assert names(ranked(free, cn, "zh-CN")) == ["cai"]


def test_an_agent_asking_leaves_a_caller_another_free_agent_would_get(book: RegionBook) -> None:
    cn = book.regions["cn"]
    waiting_long, back_now = agent("ann", 9), agent("ben", 0)
    assert not first_choice([waiting_long], back_now, cn, "zh-CN")
    assert first_choice([waiting_long], back_now, cn, "en-US") is False  # serves neither
    assert first_choice([], back_now, cn, "zh-CN")
