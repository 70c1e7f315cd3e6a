"""After the agent hangs up: one question to rate the call from 1 to 5 (5 best), skippable,
and a short recorded comment for a caller who wants to leave one.

Pure like the menu. The survey's webhooks carry the caller's place (region, language) and
where the survey stands in our URL, so any replica, after any reload, goes on in the caller's
language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ivr.engine.closing import goodbye
from ivr.engine.context import CallContext
from ivr.engine.phrases import Speaker
from ivr.engine.state import CallPlace, parse_place
from ivr.engine.steps import SURVEY, SURVEY_COMMENT, Ask, Link, Record, Step, step
from ivr.engine.waiting import fitting
from ivr.engine.ways import MESSAGE_SILENCE

LOWEST, HIGHEST = 1, 5
RATINGS = frozenset(str(rating) for rating in range(LOWEST, HIGHEST + 1))
COMMENT_KEY = "9"
FINISH = "#"
# Seconds to answer the question before the call ends; after a rating, a shorter offer.
QUESTION_SECONDS = 6
OFFER_SECONDS = 4
COMMENT_SECONDS = 60
# A wrong key is forgiven once; the second one ends the call politely.
MISSES = 2
_MISSES = frozenset(str(n) for n in range(MISSES))
STAGE, RATED, TRIES = "m", "rated", "t"


@dataclass(frozen=True)
class SurveyState:
    """Where the survey stands, as our URL carries it."""

    place: CallPlace
    rated: bool = False  # the rating is in: what follows answers the offer of a comment
    misses: int = 0  # wrong keys at the question so far
    marks: tuple[tuple[str, str], ...] = ()  # the callback served on this leg, if any

    def link(self, path: str) -> Link:
        extra = [(STAGE, RATED)] if self.rated else []
        if self.misses:
            extra.append((TRIES, str(self.misses)))
        return self.place.link(path, *extra, *self.marks)


def parse_survey(
    query: Mapping[str, str], marks: tuple[tuple[str, str], ...] = ()
) -> SurveyState | None:
    """The survey's state in a webhook's query, or None when it is missing or malformed."""
    place = parse_place(query)
    stage, misses = query.get(STAGE, ""), query.get(TRIES, "0")
    if place is None or stage not in ("", RATED) or misses not in _MISSES:
        return None
    return SurveyState(place, stage == RATED, int(misses), marks)


def follows(ctx: CallContext, result: str, on_the_line: bool) -> bool:
    """Whether the caller is asked to rate the call: the agent hung up (QueueResult bridged)
    and the caller is still on the line, in a region that asks."""
    return ctx.region.survey and result == "bridged" and on_the_line


def question(
    ctx: CallContext, place: CallPlace | None, marks: tuple[tuple[str, str], ...] = ()
) -> Step:
    """The rating question, in the caller's language; 9 for a comment instead."""
    return _ask(ctx, SurveyState(fitting(ctx, place), marks=marks))


def rating(state: SurveyState | None, digits: str) -> int | None:
    """The rating keyed at the question, when that is what `digits` are."""
    if state is None or state.rated or digits not in RATINGS:
        return None
    return int(digits)


def answer(ctx: CallContext, state: SurveyState | None, digits: str) -> Step:
    """The caller's key at the question or at the offer of a comment. Silence, or a stale
    link, ends the call politely: the survey is never in the way."""
    if state is None:
        return goodbye(ctx, fitting(ctx, None).language)
    state = replace(state, place=fitting(ctx, state.place))
    language = state.place.language
    if digits == COMMENT_KEY:
        return comment(ctx, state)
    if state.rated or not digits:
        return goodbye(ctx, language)
    if digits in RATINGS:
        return _rated(ctx, state)
    if state.misses + 1 < MISSES:
        sorry = Speaker(ctx, language).say("common.sorry_invalid")
        return step(sorry).then(_ask(ctx, replace(state, misses=state.misses + 1)))
    return goodbye(ctx, language)


def comment(ctx: CallContext, state: SurveyState) -> Step:
    """The warning voice messages give, then a short recording after the beep."""
    speaker = Speaker(ctx, state.place.language)
    intro = speaker.for_line("survey.comment_intro")
    record = Record(
        state.place.link(SURVEY_COMMENT, *state.marks),
        max_seconds=COMMENT_SECONDS,
        finish_on_key=FINISH,
        timeout=MESSAGE_SILENCE,
    )
    lines = [
        speaker.say("voicemail.warning"),
        intro.say("survey.comment_intro", key=intro.key_name(FINISH)),
    ]
    # Twilio posts even an empty recording to the action; the goodbye after <Record> is only
    # a safety net.
    return step(lines, record).then(goodbye(ctx, state.place.language))


def comment_ended(ctx: CallContext, place: CallPlace | None, saved: bool) -> Step:
    """After the recording: thanks for a comment `saved` (words, kept); a plain goodbye for
    silence or for a comment that could not be kept (never thanks for a lost one)."""
    place = fitting(ctx, place)
    if not saved:
        return goodbye(ctx, place.language)
    return step(Speaker(ctx, place.language).say("survey.comment_saved")).then(
        goodbye(ctx, place.language)
    )


def _ask(ctx: CallContext, state: SurveyState) -> Step:
    speaker = Speaker(ctx, state.place.language)
    asking = speaker.for_line("survey.question")
    lines = (
        asking.say("survey.question", lowest=LOWEST, highest=HIGHEST),
        speaker.option("survey.comment_offer", COMMENT_KEY),
    )
    ask = Ask(
        lines,
        state.link(SURVEY),
        input="dtmf",
        timeout=QUESTION_SECONDS,
        action_on_empty_result=True,  # silence posts too: the answer ends the call politely
    )
    return step(ask)


def _rated(ctx: CallContext, state: SurveyState) -> Step:
    """Thanks for the rating, a short offer of a comment, else goodbye."""
    speaker = Speaker(ctx, state.place.language)
    offer = Ask(
        (speaker.option("survey.comment_offer", COMMENT_KEY),),
        replace(state, rated=True, misses=0).link(SURVEY),
        input="dtmf",
        timeout=OFFER_SECONDS,
    )
    # No key: Twilio goes on with the goodbye after the Gather, without a request.
    return step(speaker.say("survey.thanks"), offer).then(goodbye(ctx, state.place.language))
