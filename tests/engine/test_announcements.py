"""What callers hear when operators set announcements: the engine alone, no I/O."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.engine.closing import agents_open
from ivr.engine.context import CallContext, place_caller
from ivr.engine.line_state import Kind
from ivr.engine.menu import answer, present, start
from ivr.engine.questions import Heard
from ivr.engine.state import CallPlace, MenuState, Node
from ivr.engine.steps import Ask, Enqueue, Hangup, Leave, Redirect, Say, Step
from ivr.engine.waiting import QueueStatus, queue_wait
from ivr.web.twiml import render
from tests.checks.test_menu_walk import SAMPLE_CALLERS, outcome
from tests.support.announcements import AnnouncementFactory, TokyoCall
from tests.support.contexts import ContextFactory
from tests.support.twiml_check import problems_in

SAFETY_EN = "We will never ask for your password"
CLOSED_EN = "We're sorry. Our agents can't take calls right now."
CALLBACK_ONLY_EN = (
    "Right now, our agents are calling customers back instead of answering new calls."
)
CALLBACK_OFFER = (
    "To have an agent call you back as soon as one is free, press 1, or say: call me back."
)


def said(step: Step) -> list[Say]:
    found = [a for a in step.actions if isinstance(a, Say)]
    for action in step.actions:
        if isinstance(action, Ask):
            found += [p for p in action.prompts if isinstance(p, Say)]
    return found


def texts(step: Step) -> list[str]:
    return [line.text for line in said(step)]


def choose_language(ctx: CallContext, key: str) -> Step:
    return answer(ctx, MenuState(Node.LANGUAGE, "jp", "ja-JP"), Heard(digits=key))


def test_a_message_plays_after_the_safety_notice_and_before_the_main_menu(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    outage = announcement(text="Card payments are delayed this morning.", language="en-US")
    lines = texts(choose_language(tokyo_call(outage), "2"))  # English
    safety = next(i for i, line in enumerate(lines) if line.startswith(SAFETY_EN))
    assert lines[safety + 1] == "Card payments are delayed this morning."
    assert lines[safety + 2] == "Main menu."


def test_a_message_is_heard_in_its_language_only(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    japanese = announcement(text="本日午前、カード決済に遅れが出ています。", language="ja-JP")
    ctx = tokyo_call(japanese)
    heard_ja = said(choose_language(ctx, "1"))
    assert Say("本日午前、カード決済に遅れが出ています。", "ja-JP") in heard_ja
    assert "本日午前、カード決済に遅れが出ています。" not in texts(choose_language(ctx, "2"))


def test_a_region_wide_message_is_voiced_in_each_callers_language(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    everyone = announcement(text="Scam alert: we never call you to ask for codes.")
    ctx = tokyo_call(everyone)
    assert Say(everyone.text, "en-US") in said(choose_language(ctx, "2"))
    assert Say(everyone.text, "ja-JP") in said(choose_language(ctx, "1"))


def test_a_one_language_line_plays_the_message_straight_after_the_welcome(
    make_context: ContextFactory, announcement: AnnouncementFactory
) -> None:
    from dataclasses import replace

    ctx = make_context(from_="+447700900123", to="+442079460123", at="2026-03-02T10:00+00:00")
    notice = announcement(
        text="Our app is down; we're fixing it.", region="gb", starts="2026-03-02T09:00+00:00"
    )
    lines = texts(start(replace(ctx, announcements=(notice,))))
    assert lines.index("Our app is down; we're fixing it.") == lines.index("Main menu.") - 1


def test_the_message_is_not_repeated_with_the_menu(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(text="Known delay on withdrawals."))
    main = MenuState("main", "jp", "en-US")
    assert "Known delay on withdrawals." not in texts(answer(ctx, main, Heard(digits="*")))
    assert "Known delay on withdrawals." not in texts(present(ctx, main.retry()))
    assert "Known delay on withdrawals." not in texts(answer(ctx, main, Heard(digits="#")))


def test_expired_not_yet_started_and_cancelled_messages_are_silent(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    from ivr.engine.line_state import Announcement
    from tests.support.moments import instant

    gone = announcement(text="expired", starts="2026-03-02T08:00+09:00", hours=1)
    soon = announcement(text="later", starts="2026-03-02T11:00+09:00")
    cancelled: Announcement = announcement(
        text="cancelled", cancelled_at=instant("2026-03-02T09:30+09:00")
    )
    lines = texts(choose_language(tokyo_call(gone, soon, cancelled), "2"))
    assert not {"expired", "later", "cancelled"} & set(lines)


def test_at_most_the_three_newest_messages_play(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    notices = [
        announcement(text=f"Notice {n}.", starts=f"2026-03-02T09:0{n}+09:00") for n in range(1, 5)
    ]
    lines = texts(choose_language(tokyo_call(*notices), "2"))
    assert [line for line in lines if line.startswith("Notice")] == [
        "Notice 2.",
        "Notice 3.",
        "Notice 4.",
    ]


def test_operator_text_is_escaped_in_the_twiml(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    sneaky = '<Hangup/> Fees & limits "changed" </Say><Dial>+15005550006</Dial>'
    step = choose_language(tokyo_call(announcement(text=sneaky)), "2")
    document = render(step)
    assert "&lt;Hangup/&gt; Fees &amp; limits" in document
    root = ElementTree.fromstring(document)
    assert root.find(".//Hangup") is None and root.find(".//Dial") is None
    assert sneaky in [say.text for say in root.iter("Say")]
    assert problems_in(step) == []


# -- queues closed or callback-only --------------------------------------------------------
def test_a_closed_queue_sends_a_caller_who_asks_for_an_agent_to_the_other_ways(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CLOSED))
    step = answer(ctx, MenuState("main", "jp", "en-US"), Heard(digits="0"))
    lines = texts(step)
    assert lines[0] == CLOSED_EN
    assert CALLBACK_OFFER in lines
    assert "To leave a voice message for our support team, press 2, or say: message." in lines
    assert not any(isinstance(a, Enqueue) for a in step.actions)
    ask = next(a for a in step.actions if isinstance(a, Ask))
    assert ("n", "ways") in ask.then.params and ("w", "main") in ask.then.params
    assert problems_in(step) == []


def test_a_callback_only_queue_offers_the_callback_first(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CALLBACK_ONLY))
    step = answer(ctx, MenuState("pending", "jp", "en-US"), Heard(digits="0"))
    lines = texts(step)
    assert lines[:2] == [CALLBACK_ONLY_EN, CALLBACK_OFFER]
    assert not any(isinstance(a, Enqueue) for a in step.actions)
    ask = next(a for a in step.actions if isinstance(a, Ask))
    assert ("w", "pending") in ask.then.params  # the topic travels on to the callback


def test_callback_only_without_a_callback_we_could_place_says_agents_are_unavailable(
    make_context: ContextFactory, announcement: AnnouncementFactory
) -> None:
    from dataclasses import replace

    # A withheld caller on the global line: no country to call back in.
    ctx = make_context(from_="anonymous", to="+10000000000", at="2026-03-02T10:00+00:00")
    notice = announcement(Kind.CALLBACK_ONLY, region="global", starts="2026-03-02T09:00+00:00")
    ctx = replace(ctx, announcements=(notice,))
    assert ctx.region.id == "global"
    step = answer(ctx, MenuState("main", "global", "en-US"), Heard(digits="0"))
    lines = texts(step)
    assert lines[0] == CLOSED_EN
    assert not any("call you back" in line for line in lines)


def test_closing_one_language_leaves_the_other_languages_queue_open(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CLOSED, language="ja-JP"))
    english = answer(ctx, MenuState("main", "jp", "en-US"), Heard(digits="0"))
    assert any(isinstance(a, Enqueue) and a.queue == "jp-en-US" for a in english.actions)
    japanese = answer(ctx, MenuState("main", "jp", "ja-JP"), Heard(digits="0"))
    assert texts(japanese)[0] == "申し訳ございません。ただいま、オペレーターにおつなぎできません。"


def test_self_service_stays_available_while_the_queue_is_closed(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CLOSED))
    step = answer(ctx, MenuState("main", "jp", "en-US"), Heard(digits="1"))
    assert "Here's how to reset a forgotten password." in texts(step)
    ways = MenuState(Node.WAYS, "jp", "en-US", reason="main")
    back = answer(ctx, ways, Heard(digits="#"))
    assert "Main menu." in texts(back)


def test_opening_hours_come_before_the_operators_mode(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    night = tokyo_call(
        announcement(Kind.CLOSED, starts="2026-03-01T20:00+09:00", hours=8),
        at="2026-03-01T23:59+09:00",
    )
    step = answer(night, MenuState("main", "jp", "en-US"), Heard(digits="0"))
    assert texts(step)[0].startswith("Our agents aren't available right now. They'll be back")


def test_a_caller_stuck_in_the_menu_gets_the_other_ways_not_the_closed_queue(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CLOSED))
    stuck = MenuState("security", "jp", "en-US", tries=2)
    step = answer(ctx, stuck, Heard())
    lines = texts(step)
    assert lines[:2] == ["It seems the menu isn't helping, so let's get you some help.", CLOSED_EN]
    assert not any(isinstance(a, Enqueue) for a in step.actions)
    # Three misses in the other ways end with the channels and goodbye, never a queue.
    ways = MenuState(Node.WAYS, "jp", "en-US", tries=2, reason="security")
    end = answer(ctx, ways, Heard())
    assert texts(end)[-1] == "Thank you for calling. Goodbye."


def test_callers_waiting_in_a_closed_queue_are_moved_out_at_the_next_poll(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CLOSED))
    for place in (CallPlace("jp", "en-US", "main"), CallPlace("jp", "en-US", "pending")):
        step = queue_wait(ctx, place, QueueStatus(3, 120))
        assert texts(step) == [CLOSED_EN]
        assert step.actions[-1] == Leave()


def test_callers_already_waiting_stay_when_the_queue_turns_callback_only(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    ctx = tokyo_call(announcement(Kind.CALLBACK_ONLY))
    step = queue_wait(ctx, CallPlace("jp", "en-US", "main"), QueueStatus(3, 0))
    assert Leave() not in step.actions
    assert "You are number 3 in line." in texts(step)


def test_every_closed_answer_is_valid_twiml_in_every_language_of_the_line(
    tokyo_call: TokyoCall, announcement: AnnouncementFactory
) -> None:
    for kind in (Kind.CLOSED, Kind.CALLBACK_ONLY):
        ctx = tokyo_call(announcement(kind))
        for language in ("ja-JP", "en-US"):
            step = answer(ctx, MenuState("main", "jp", language), Heard(digits="0"))
            assert problems_in(step) == []
            assert isinstance(step.actions[-1], Redirect)


def test_with_every_queue_closed_or_callback_only_no_caller_is_queued_or_left_hanging(
    book: RegionBook, catalogue: Catalogue, flows: FlowBook, announcement: AnnouncementFactory
) -> None:
    """Every region and language, at an open hour: asking for an agent and then keeping
    silent ends politely within a bounded number of questions, and never in a queue."""
    for kind in (Kind.CLOSED, Kind.CALLBACK_ONLY):
        for line, caller in SAMPLE_CALLERS.items():
            place = place_caller(book, caller, line)
            region = place.region
            zone = ZoneInfo(region.timezone)
            at = datetime(2026, 3, 10, 12, tzinfo=zone)  # a Tuesday noon: open everywhere
            notice = announcement(kind, region=region.id, starts="2026-03-09T00:00+00:00", hours=48)
            flow = flows.for_region(region.id)
            ctx = CallContext(place, region, at, catalogue, flow, announcements=(notice,))
            assert agents_open(ctx), region.id
            for language in region.languages:
                here = outcome(
                    answer(ctx, MenuState("main", region.id, language), Heard(digits="0"))
                )
                for _ in range(6):
                    assert not any(isinstance(a, Enqueue) for a in here.step.actions)
                    assert problems_in(here.step) == []
                    if here.state is None:
                        break
                    here = outcome(answer(ctx, here.state, Heard()))
                assert here.state is None, f"{region.id} {language} still asking"
                assert isinstance(here.step.actions[-1], Hangup)
