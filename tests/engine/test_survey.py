"""The survey after the agent hangs up, pure: the rating question, a rating, a comment, silence
and wrong keys, in the caller's language. Rendered TwiML is read back as XML."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

from ivr.config.regions import RegionBook
from ivr.engine import survey
from ivr.engine.context import CallContext
from ivr.engine.state import CallPlace
from ivr.engine.steps import Step
from ivr.engine.survey import SurveyState
from ivr.web.twiml import render
from tests.support.contexts import ContextFactory
from tests.support.twiml_check import problems_in

US_CALLER, US_LINE = "+12025550188", "+12025550142"
US_OPEN = "2026-03-02T10:00-05:00"
QUESTION = "Before you go, please rate this call. Press a number from 1 to 5, where 5 is the best."
OFFER = "To leave us a short comment, press 9."
GOODBYE = "Thank you for calling. Goodbye."
EVERY_KEY = ["", *"0123456789*#"]


def us_call(make_context: ContextFactory) -> CallContext:
    return make_context(from_=US_CALLER, to=US_LINE, at=US_OPEN)


def document(step: Step) -> ElementTree.Element:
    return ElementTree.fromstring(render(step))


def verbs(step: Step) -> list[str]:
    return [element.tag for element in document(step)]


def said(step: Step) -> list[str]:
    """Everything the caller hears, in order, in or out of the Gather."""
    return [element.text or "" for element in document(step).iter("Say")]


def state_of(url: str) -> SurveyState | None:
    """The survey state Twilio brings back when it requests `url`."""
    return survey.parse_survey(dict(parse_qsl(urlsplit(url).query)))


def asked(make_context: ContextFactory) -> SurveyState:
    question = document(survey.question(us_call(make_context), CallPlace("us", "en-US")))
    gather = question.find("Gather")
    assert gather is not None
    state = state_of(gather.get("action", ""))
    assert state is not None
    return state


def test_every_survey_document_is_valid_in_every_language(
    book: RegionBook, make_context: ContextFactory
) -> None:
    for region in book.regions.values():
        ctx = make_context(from_="anonymous", to=region.hotlines[0])
        for language in region.languages:
            place = CallPlace(region.id, language)
            assert problems_in(survey.question(ctx, place)) == []
            for state in (
                SurveyState(place),
                SurveyState(place, rated=True),
                SurveyState(place, misses=1),
            ):
                for digits in EVERY_KEY:
                    assert problems_in(survey.answer(ctx, state, digits)) == [], (state, digits)
            for saved in (True, False):
                assert problems_in(survey.comment_ended(ctx, place, saved)) == []


def test_the_question_is_one_key_posting_to_the_survey_even_on_silence(
    make_context: ContextFactory,
) -> None:
    step = survey.question(us_call(make_context), CallPlace("us", "en-US", "pending"))
    assert verbs(step) == ["Gather"]
    gather = document(step).find("Gather")
    assert gather is not None
    assert (gather.get("input"), gather.get("numDigits"), gather.get("timeout")) == (
        "dtmf",
        "1",
        "6",
    )
    assert gather.get("actionOnEmptyResult") == "true"
    # The caller's place travels in our URL, as on the queue's webhooks.
    assert gather.get("action") == "/voice/survey?r=us&l=en-US&w=pending"
    assert said(step) == [QUESTION, OFFER]


def test_a_rating_is_thanked_then_a_comment_offered_briefly_then_goodbye(
    make_context: ContextFactory,
) -> None:
    state = asked(make_context)
    assert survey.rating(state, "4") == 4
    step = survey.answer(us_call(make_context), state, "4")
    assert verbs(step) == ["Say", "Gather", "Say", "Hangup"]
    assert said(step) == ["Thank you for your rating.", OFFER, GOODBYE]
    offer = document(step).find("Gather")
    assert offer is not None
    assert (offer.get("numDigits"), offer.get("timeout")) == ("1", "4")
    # No key: Twilio goes on with the goodbye, no request.
    assert offer.get("actionOnEmptyResult") is None
    rated = state_of(offer.get("action", ""))
    assert rated is not None and rated.rated
    # Only keys 1 to 5 at the question are ratings; nothing after it is one.
    assert [survey.rating(state, key) for key in "012345679*#"] == [
        None, 1, 2, 3, 4, 5, None, None, None, None, None,
    ]  # fmt: skip
    assert survey.rating(rated, "4") is None and survey.rating(None, "4") is None


def test_silence_at_the_question_ends_the_call_politely(make_context: ContextFactory) -> None:
    step = survey.answer(us_call(make_context), asked(make_context), "")
    assert said(step) == [GOODBYE] and verbs(step) == ["Say", "Hangup"]


def test_a_wrong_key_is_forgiven_once_and_a_second_ends_the_call(
    make_context: ContextFactory,
) -> None:
    ctx = us_call(make_context)
    for key in ("0", "7", "*", "#"):
        again = survey.answer(ctx, asked(make_context), key)
        assert said(again) == ["Sorry, that isn't one of the options.", QUESTION, OFFER]
        gather = document(again).find("Gather")
        assert gather is not None
        second = state_of(gather.get("action", ""))
        assert second is not None and second.misses == 1
        assert said(survey.answer(ctx, second, key)) == [GOODBYE]
        assert survey.rating(second, "2") == 2  # the question asked again still takes a rating
        assert said(survey.answer(ctx, second, "")) == [GOODBYE]


def test_9_at_the_question_or_after_a_rating_warns_then_records_a_comment(
    make_context: ContextFactory,
) -> None:
    ctx = us_call(make_context)
    state = asked(make_context)
    for step in (
        survey.answer(ctx, state, "9"),
        survey.answer(ctx, replace(state, rated=True), "9"),
    ):
        assert verbs(step) == ["Say", "Say", "Record", "Say", "Hangup"]
        warning, intro, goodbye = said(step)
        for secret in ("password", "recovery phrase", "private key", "verification code"):
            assert secret in warning
        assert intro == (
            "After the tone, please tell us about your call in a few words. "
            "Press the pound key when you're done."
        )
        assert goodbye == GOODBYE  # only if Twilio did not post the recording
        record = document(step).find("Record")
        assert record is not None
        assert record.get("action") == "/voice/survey/comment?r=us&l=en-US"
        assert (record.get("maxLength"), record.get("finishOnKey")) == ("60", "#")
        assert record.get("playBeep") == "true"


def test_after_a_rating_any_other_key_or_silence_says_goodbye(
    make_context: ContextFactory,
) -> None:
    rated = replace(asked(make_context), rated=True)
    for key in ("", "1", "5", "0", "#"):
        assert said(survey.answer(us_call(make_context), rated, key)) == [GOODBYE]


def test_a_kept_comment_is_thanked_and_silence_or_a_lost_one_only_hears_goodbye(
    make_context: ContextFactory,
) -> None:
    ctx, place = us_call(make_context), CallPlace("us", "en-US")
    assert said(survey.comment_ended(ctx, place, saved=True)) == [
        "Thank you for your comment.",
        GOODBYE,
    ]
    assert said(survey.comment_ended(ctx, place, saved=False)) == [GOODBYE]
    assert verbs(survey.comment_ended(ctx, place, saved=True))[-1] == "Hangup"


def test_the_survey_speaks_the_language_of_the_url_or_the_regions_default(
    make_context: ContextFactory,
) -> None:
    ctx = make_context()  # a Mainland China caller on the Chinese line
    mandarin = survey.question(ctx, CallPlace("cn", "zh-CN"))
    assert said(mandarin) == [
        "通话结束前，请您为本次服务评分。请按1到5之间的数字，5分表示非常满意。",
        "如需留下简短意见，请按9。",
    ]
    english = survey.question(ctx, CallPlace("cn", "en-US"))
    assert said(english) == [QUESTION, OFFER]
    # A language the region does not offer, or another region's place: the region's default.
    for place in (CallPlace("cn", "ja-JP"), CallPlace("jp", "en-US"), None):
        assert said(survey.question(ctx, place))[0].startswith("通话结束前")
    # A link that is not the survey's own ends the call politely, in the region's language.
    stale = survey.parse_survey({"r": "cn", "l": "zh-CN", "m": "later"})
    assert stale is None
    assert said(survey.answer(ctx, stale, "4")) == ["感谢您的来电，再见。"]


def test_the_survey_state_round_trips_through_its_links_with_a_callbacks_mark() -> None:
    place = CallPlace("cn", "zh-CN", "password", caller_id_failed=True)
    marks = (("cb", "17"),)
    for state in (
        SurveyState(place, marks=marks),
        SurveyState(place, rated=True, marks=marks),
        SurveyState(place, misses=1, marks=marks),
    ):
        link = state.link("/voice/survey")
        assert dict(link.params)["cb"] == "17"
        assert survey.parse_survey(dict(link.params), marks) == state
    for query in ({"r": "cn", "l": "zh-CN", "t": "2"}, {"r": "cn", "l": "zh-CN", "t": "x"}, {}):
        assert survey.parse_survey(query) is None


def test_the_survey_follows_a_bridged_call_only_in_a_region_that_asks(
    make_context: ContextFactory,
) -> None:
    ctx = us_call(make_context)
    assert survey.follows(ctx, "bridged", on_the_line=True)
    # The caller hung up on the agent: nobody to ask.
    assert not survey.follows(ctx, "bridged", on_the_line=False)
    for result in ("bridging-in-process", "redirected-from-bridged", "hangup", "leave", "error"):
        assert not survey.follows(ctx, result, on_the_line=True)
    quiet = replace(ctx, region=replace(ctx.region, survey=False))
    assert not survey.follows(quiet, "bridged", on_the_line=True)
