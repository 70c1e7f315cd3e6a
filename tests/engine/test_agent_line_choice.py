"""Which caller an agent takes next: from our records of who waits where since when, the
callback queue first, then pending transactions, then the longest-waiting caller among the
queues of the agent's languages and regions. Pure: no database, no clock."""

from __future__ import annotations

from ivr.config.regions import RegionBook
from ivr.engine.agent_line import QueueKind, agent_queues, in_order
from ivr.engine.line_state import Skills
from tests.support.agents import (
    ENGLISH_IN_JAPAN_AND_CHINA,
    MANDARIN_AND_ENGLISH,
    WaitingFactory,
)


def test_an_agent_may_take_the_three_queues_of_each_language_they_speak_in_their_regions(
    book: RegionBook,
) -> None:
    queues = agent_queues(MANDARIN_AND_ENGLISH, book)
    assert set(queues) == {
        "cn-zh-CN-callback",
        "cn-zh-CN-priority",
        "cn-zh-CN",
        "cn-en-US-callback",
        "cn-en-US-priority",
        "cn-en-US",
        # Singapore offers British English and Mandarin: only Mandarin is Li's.
        "sg-zh-CN-callback",
        "sg-zh-CN-priority",
        "sg-zh-CN",
    }
    assert queues["sg-zh-CN-priority"].kind is QueueKind.PRIORITY
    assert queues["cn-en-US-callback"].region.id == "cn"


def test_an_agent_of_every_region_takes_their_language_wherever_it_is_offered(
    book: RegionBook,
) -> None:
    queues = agent_queues(Skills(("ko-KR",), ("*",)), book)
    assert set(queues) == {"kr-ko-KR", "kr-ko-KR-priority", "kr-ko-KR-callback"}


def test_callbacks_come_first_then_pending_transactions_then_the_longest_wait(
    book: RegionBook, waiting: WaitingFactory
) -> None:
    queues = agent_queues(MANDARIN_AND_ENGLISH, book)
    longest = waiting("cn-en-US", minutes=12)
    pending = waiting("cn-zh-CN-priority", minutes=2)
    callback = waiting("cn-zh-CN-callback", minutes=1)
    newer = waiting("cn-zh-CN", minutes=5)
    chosen = in_order([longest, newer, pending, callback], queues)
    assert chosen == [callback, pending, longest, newer]


def test_only_the_first_caller_of_a_queue_can_be_taken(
    book: RegionBook, waiting: WaitingFactory
) -> None:
    queues = agent_queues(MANDARIN_AND_ENGLISH, book)
    first = waiting("cn-zh-CN", minutes=9)
    second = waiting("cn-zh-CN", minutes=8)
    english = waiting("cn-en-US", minutes=3)
    # Twilio bridges an agent to the front of a queue: the second caller of cn-zh-CN is not
    # on offer, however long the others have waited.
    assert in_order([second, english, first], queues) == [first, english]


def test_among_callbacks_the_one_who_first_queued_earliest_goes_first(
    book: RegionBook, waiting: WaitingFactory
) -> None:
    queues = agent_queues(MANDARIN_AND_ENGLISH, book)
    # Both joined their callback queue a minute ago; one first queued an hour before.
    recent = waiting("cn-en-US-callback", minutes=2, since_minutes=20)
    early = waiting("cn-zh-CN-callback", minutes=1, since_minutes=60)
    assert in_order([recent, early], queues) == [early, recent]


def test_callers_outside_the_agents_languages_and_regions_are_never_chosen(
    book: RegionBook, waiting: WaitingFactory
) -> None:
    queues = agent_queues(ENGLISH_IN_JAPAN_AND_CHINA, book)
    mandarin = waiting("cn-zh-CN-callback", minutes=30)
    us = waiting("us-en-US-priority", minutes=30)
    japanese = waiting("jp-ja-JP", minutes=30)
    english_in_japan = waiting("jp-en-US", minutes=1)
    assert in_order([mandarin, us, japanese, english_in_japan], queues) == [english_in_japan]


def test_nobody_waiting_means_nobody_to_take(book: RegionBook) -> None:
    assert in_order([], agent_queues(MANDARIN_AND_ENGLISH, book)) == []
