"""Waiting in the queue: announcements, reminders, the way out, every QueueResult."""

from __future__ import annotations

import pytest

from ivr.config.regions import RegionBook
from ivr.emulator.documents import Context
from ivr.engine.context import HoldMusic
from ivr.engine.state import CallPlace
from ivr.engine.steps import Ask, Hangup, Leave, Pause, Play, Redirect, Say, Step
from ivr.engine.waiting import (
    QueueStatus,
    connect_notice,
    on_hold,
    queue_key,
    queue_result,
    queue_wait,
)
from tests.support.contexts import ContextFactory
from tests.support.twiml_check import problems_in

RESULTS = [
    "bridged",
    "bridging-in-process",
    "hangup",
    "leave",
    "queue-full",
    "error",
    "system-error",
    "redirected",
    "redirected-from-bridged",
    "something-new",
]


def spoken(step: Step) -> list[str]:
    lines = [a.text for a in step.actions if isinstance(a, Say)]
    for action in step.actions:
        if isinstance(action, Ask):
            lines += [p.text for p in action.prompts if isinstance(p, Say)]
    return lines


def test_every_queue_document_is_valid_where_it_runs(
    book: RegionBook, make_context: ContextFactory
) -> None:
    for region in book.regions.values():
        line = region.hotlines[0]
        ctx = make_context(from_="anonymous", to=line)
        for language in region.languages:
            place = CallPlace(region.id, language, "main")
            for waited in (0, 30, 60, 90, 120, 600, region.queue.max_wait):
                for position in (1, 2, 17):
                    step = queue_wait(ctx, place, QueueStatus(position, waited))
                    assert problems_in(step, Context.WAIT) == []
            for digits in ("1", "2", ""):
                assert problems_in(queue_key(ctx, place, digits), Context.WAIT) == []
            for result in RESULTS:
                assert problems_in(queue_result(ctx, place, result)) == []
            assert problems_in(connect_notice(ctx, language), Context.QUEUE_URL) == []


def test_position_is_announced_and_the_first_caller_hears_they_are_next(
    make_context: ContextFactory,
) -> None:
    ctx = make_context()
    place = CallPlace("cn", "en-US")
    assert "You are number 3 in line." in spoken(queue_wait(ctx, place, QueueStatus(3, 0)))
    assert "You're next in line." in spoken(queue_wait(ctx, place, QueueStatus(1, 0)))


def test_leaving_is_offered_only_after_the_regions_delay(make_context: ContextFactory) -> None:
    ctx = make_context()  # Mainland China: leave_offer_after = 90, announce_every = 45
    place = CallPlace("cn", "en-US")
    early = queue_wait(ctx, place, QueueStatus(4, 45))
    later = queue_wait(ctx, place, QueueStatus(4, 90))
    assert not any(isinstance(a, Ask) for a in early.actions)
    ask = next(a for a in later.actions if isinstance(a, Ask))
    assert ask.prompts[-1] == Pause(45)  # the hold lasts one announcement interval
    assert "To stop waiting and have us call you back, or leave a message, press 1." in spoken(
        later
    )


def test_safety_reminder_every_third_announcement(make_context: ContextFactory) -> None:
    ctx = make_context()
    place = CallPlace("cn", "en-US")
    reminder = "A reminder: we will never ask for your password, recovery phrase, private key, or verification codes."
    heard = [reminder in spoken(queue_wait(ctx, place, QueueStatus(2, 45 * n))) for n in range(7)]
    assert heard == [False, True, False, False, True, False, False]


def test_max_wait_leaves_the_queue_with_an_apology(make_context: ContextFactory) -> None:
    ctx = make_context()
    step = queue_wait(ctx, CallPlace("cn", "zh-CN"), QueueStatus(9, 900))
    assert step.actions[-1] == Leave()
    assert spoken(step) == ["非常抱歉，现在客服比平时繁忙很多，我们不想让您继续久等。"]


def test_key_1_leaves_other_keys_keep_waiting(make_context: ContextFactory) -> None:
    ctx = make_context()
    place = CallPlace("cn", "en-US")
    assert queue_key(ctx, place, "1").actions[-1] == Leave()
    assert queue_key(ctx, place, "5").actions == ()


@pytest.mark.parametrize("result", RESULTS)
def test_every_queue_result_gets_a_sensible_answer(
    make_context: ContextFactory, result: str
) -> None:
    ctx = make_context()
    step = queue_result(ctx, CallPlace("cn", "en-US"), result)
    if result == "redirected":
        assert step.actions == ()  # the REST redirect's TwiML is already playing
        return
    lines = spoken(step)
    if result in ("bridged", "bridging-in-process", "redirected-from-bridged"):
        assert step.actions[-1] == Hangup()
        assert lines == ["Thank you for calling. Goodbye."]
    elif result == "hangup":
        assert step.actions == (Hangup(),)
    else:
        # Still on the line and no agent took them: the other ways to get help.
        last = step.actions[-1]
        assert isinstance(last, Redirect) and ("n", "ways") in last.to.params
        assert (
            "To have an agent call you back as soon as one is free, press 1, or say: call me back."
            in lines
        )
        assert "To leave a voice message for our support team, press 2, or say: message." in lines
        assert "To hear other ways to reach us, press 3." in lines


def test_hold_music_fills_the_time_between_announcements(make_context: ContextFactory) -> None:
    from dataclasses import replace

    music = HoldMusic("https://cdn.example.com/hold.mp3", 20)
    ctx = replace(make_context(), hold_music=music)
    step = queue_wait(ctx, CallPlace("cn", "en-US"), QueueStatus(2, 0))
    assert ctx.region.queue.announce_every == 45
    assert step.actions[-2:] == (Play(music.url, loop=2), Pause(5))  # 45 s: twice, then 5 s


def test_a_long_hold_plays_the_clip_in_plays_of_at_most_nine() -> None:
    music = HoldMusic("https://ivr.example.com/audio/hold.wav", 20)
    assert on_hold(music, 600) == [Play(music.url, loop=9)] * 3 + [Play(music.url, loop=3)]
    assert on_hold(music, 60) == [Play(music.url, loop=3)]
    assert on_hold(music, 15) == [Pause(15)]  # close to the maximum wait: no room for it
    assert on_hold(None, 60) == [Pause(60)]
