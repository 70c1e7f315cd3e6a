"""Other ways to get help when a person cannot take the call now: a callback, a voice message.

Pure like the menu. Asking for a callback ends in a Redirect to the booking webhook, which
stores it (fraud limits, the callback code) and then asks `booked` what the caller hears.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ivr.config.flows import CALLBACK, GOODBYE, VOICEMAIL, Option
from ivr.config.hours import is_open, next_opening
from ivr.config.regions import Region
from ivr.engine.booking import UNAVAILABLE, Booking
from ivr.engine.closing import agents_open, channel_lines, goodbye
from ivr.engine.context import CallContext, CallerKind
from ivr.engine.numbers import callback_number, can_receive_texts, last_digits
from ivr.engine.phrases import Speaker
from ivr.engine.questions import ask
from ivr.engine.state import CallPlace, MenuState, Node
from ivr.engine.steps import (
    CALLBACK_BOOK,
    MENU,
    RECORDING,
    Ask,
    Prompt,
    Record,
    Redirect,
    Step,
    step,
)

YES, OTHER = "1", "2"
FINISH = "#"
# Seconds of silence that end a voice message; Twilio's reported length includes them.
MESSAGE_SILENCE = 5
MIN_MESSAGE_SECONDS = 1


def can_call_back(ctx: CallContext) -> bool:
    """Callbacks come from the region's published hotline, so a region without one cannot;
    and only to a number we may call: on a regional line any ordinary phone in its countries,
    on the global line the calling number alone (see `_countries`), so none for a withheld
    caller there, nor one from a country not allowed, nor one whose caller ID failed."""
    if not ctx.region.hotlines or not _countries(ctx):
        return False
    return bool(ctx.region.countries) or _own_number(ctx) is not None


def may_call_back(region: Region, number: str) -> bool:
    """Whether `region` may still call a stored callback's `number` (E.164): the country and
    type checks of a booking, again, for callbacks booked under older rules or settings."""
    return callback_number(number, region.countries or region.callback_countries, None) == number


def may_text(region: Region, number: str) -> bool:
    """Whether `region` may text `number`: one it may call back, and no landline."""
    return may_call_back(region, number) and can_receive_texts(number)


def placeable(region: Region, moment: datetime) -> bool:
    """A callback placed at `moment` would still find agents: open now and for the region's
    `stop_before_closing` after."""
    margin = timedelta(seconds=region.callbacks.stop_before_closing)
    return is_open(region.opening, moment) and is_open(region.opening, moment + margin)


def next_due(region: Region, moment: datetime) -> datetime:
    """When a callback wanted at `moment` is due: then, or when agents next open (no
    callback waits out a closure as overdue, and none is placed just before closing)."""
    if placeable(region, moment):
        return moment
    return next_opening(region.opening, moment + timedelta(seconds=1)) or moment


def first_attempt(ctx: CallContext) -> datetime:
    """When a callback booked now is first due."""
    return next_due(ctx.region, ctx.now)


# -- the ways menu ----------------------------------------------------------------------
# When no agent can take the call now: the flow's `ways` node. A callback is offered only to a
# caller we may call back, worded by whether agents are open (`say_closed`).
def ways_options(ctx: CallContext) -> tuple[Option, ...]:
    """The ways menu's options for this caller. Without a callback for them, the digit keys
    that remain are numbered again from 1: the menu never starts at "press 2"."""
    options = ctx.flow.nodes[Node.WAYS].options
    if can_call_back(ctx):
        return options
    kept = [option for option in options if option.to != CALLBACK]
    digits = iter(str(n) for n in range(1, 10))
    return tuple(
        replace(option, key=next(digits)) if option.key.isdigit() else option for option in kept
    )


def ways_menu(ctx: CallContext, state: MenuState) -> Step:
    """The ways out when no agent can take the call: a callback, a voice message, the
    channels, the main menu."""
    speaker = Speaker(ctx, state.language)
    options = ways_options(ctx)
    closed = not agents_open(ctx)
    lines = tuple(
        speaker.option(
            option.say_closed if closed and option.say_closed else option.say, option.key
        )
        for option in options
        if option.say
    )
    return ask(speaker, state, lines, options)


def other_ways(ctx: CallContext, state: MenuState) -> Step:
    """No agent can take the call now: a callback, a voice message, the channels, the menu.

    `state.reason` says why the caller wanted an agent, and travels on to the callback."""
    return ways_menu(ctx, state.at(Node.WAYS, digits=None))


# -- the number to call back ----------------------------------------------------------------
def start_callback(ctx: CallContext, state: MenuState) -> Step:
    """Offer the calling number when we may call it, else ask for one. The global line calls
    back the calling number only: it says which, and books it (no other number to choose)."""
    own = _own_number(ctx)
    if not ctx.region.countries:
        if own is None:
            return other_channels(ctx, state.language, None)
        speaker = Speaker(ctx, state.language)
        which = speaker.say("callback.own_number", digits=speaker.digits(last_digits(own)))
        return step([which]).then(_book(state, own))
    if own is None:
        return callback_prompt(ctx, state.at(Node.CALLBACK_NUMBER))
    return callback_prompt(ctx, state.at(Node.CALLBACK))


def callback_prompt(ctx: CallContext, state: MenuState) -> Step:
    speaker = Speaker(ctx, state.language)
    if state.node == Node.CALLBACK:
        own = _own_number(ctx) or ""
        lines: tuple[Prompt, ...] = (
            speaker.say("callback.own_number", digits=speaker.digits(last_digits(own))),
            speaker.say("callback.own_confirm", yes_key=YES, other_key=OTHER),
        )
        return step(Ask(lines, state.link(MENU), input="dtmf"), Redirect(state.link(MENU)))
    if state.node == Node.CALLBACK_CONFIRM and state.digits:
        reading = speaker.for_line("callback.readback")
        lines = (
            reading.say("callback.readback", digits=reading.digits(state.digits)),
            speaker.say("callback.confirm", yes_key=YES, retry_key=OTHER),
        )
        return step(Ask(lines, state.link(MENU), input="dtmf"), Redirect(state.link(MENU)))
    asking = speaker.for_line("callback.enter_number")
    ask = Ask(
        (asking.say("callback.enter_number", finish_key=asking.key_name(FINISH)),),
        state.link(MENU),
        input="dtmf",
        num_digits=None,
        finish_on_key=FINISH,
        timeout=8,
        action_on_empty_result=True,
    )
    return step(ask, Redirect(state.link(MENU)))


def answer_callback(ctx: CallContext, state: MenuState, digits: str) -> Step:
    """The caller's keys at the callback questions; misses end with the other channels."""
    speaker = Speaker(ctx, state.language)
    if state.node == Node.CALLBACK:
        own = _own_number(ctx)
        if digits == YES and own:
            return _book(state, own)
        if digits == OTHER:
            return callback_prompt(ctx, state.at(Node.CALLBACK_NUMBER))
    elif state.node == Node.CALLBACK_CONFIRM:
        number = _keyed_number(ctx, state.digits or "")
        if digits == YES and number:
            return _book(state, number)
        if digits == OTHER:
            return _again(ctx, state.at(Node.CALLBACK_NUMBER, tries=state.tries), None)
    elif digits.isdigit():
        if _keyed_number(ctx, digits):
            return callback_prompt(
                ctx, state.at(Node.CALLBACK_CONFIRM, digits=digits, tries=state.tries)
            )
        return _again(ctx, state, speaker.say("callback.bad_number"))
    apology = "common.sorry_silence" if not digits else "common.sorry_invalid"
    return _again(ctx, state, speaker.say(apology))


def _again(ctx: CallContext, state: MenuState, apology: Prompt | None) -> Step:
    if state.out_of_tries:
        return other_channels(ctx, state.language, apology)
    lines = [apology] if apology else []
    return step(lines).then(callback_prompt(ctx, state.retry()))


def _book(state: MenuState, number: str) -> Step:
    return step(Redirect(state.place.link(CALLBACK_BOOK, ("d", number.lstrip("+")))))


def _own_number(ctx: CallContext) -> str | None:
    """The calling number, when we may call it back; never one whose caller ID failed."""
    origin = ctx.place.origin
    if origin.kind is not CallerKind.NUMBER or origin.number is None or ctx.caller_id_failed:
        return None
    return callback_number(origin.number, _countries(ctx), origin.country)


def _keyed_number(ctx: CallContext, digits: str) -> str | None:
    """A keyed-in number we may call: a regional line's only. Anyone can key any number, so
    the global line (which would call any country) takes none."""
    countries = ctx.region.countries
    if not countries:
        return None
    number = callback_number(digits, countries, countries[0])
    return None if number is not None and _spoofed(ctx, number) else number


def _spoofed(ctx: CallContext, number: str) -> bool:
    """The calling number, when its caller ID failed verification: someone else's, perhaps."""
    return ctx.caller_id_failed and number == ctx.place.origin.number


def _countries(ctx: CallContext) -> tuple[str, ...]:
    """The countries we call back in: the region's; on the global line the caller's own, when
    regions.toml allows it (`callback_countries`). That country comes from `From`, which a
    caller can forge, hence the allow-list and the calling number only."""
    if ctx.region.countries:
        return ctx.region.countries
    own = ctx.place.origin.country
    return (own,) if own and own in ctx.region.callback_countries else ()


def bookable_number(ctx: CallContext, digits: str) -> str | None:
    """The number in a booking link (E.164 without '+'), checked again: links can be old, and
    a link's number is whatever was posted. The global line books only this call's own
    number (its `From`), whatever the link says."""
    if not digits.isdigit():
        return None
    number = callback_number("+" + digits, _countries(ctx), None)
    if number is None or _spoofed(ctx, number):
        return None
    if not ctx.region.countries and number != _own_number(ctx):
        return None
    return number


def not_bookable(ctx: CallContext, place: CallPlace) -> Step:
    """The number in a booking link may not be called back (the calling number, when its
    caller ID failed; a link from older rules): a regional line asks the caller to key one,
    the global line (which takes no keyed number) gives the other channels."""
    if ctx.region.countries and ctx.region.hotlines:
        return callback_prompt(ctx, place.menu(Node.CALLBACK_NUMBER))
    return other_channels(ctx, place.language, None)


def booked(ctx: CallContext, place: CallPlace, booking: Booking) -> Step:
    """What the caller hears once the booking webhook has stored (or refused) the callback."""
    speaker = Speaker(ctx, place.language)
    if booking.refused == UNAVAILABLE:
        # Sorry, then a voice message or the channels, answered by the ways menu (its keys).
        others = tuple(
            option
            for option in ctx.flow.nodes[Node.WAYS].options
            if option.to in (VOICEMAIL, GOODBYE)
        )
        lines = (speaker.say("callback.unavailable"),) + tuple(
            speaker.option(option.say, option.key) for option in others if option.say
        )
        return ask(speaker, place.menu(Node.WAYS), lines, others)
    if booking.code is None:
        limit = "number_limit" if booking.refused == "number_limit" else "region_limit"
        refusal = f"callback.{limit}"
        return other_channels(ctx, place.language, speaker.say(refusal))
    hotline = speaker.for_line("callback.booked_open")
    soon = first_attempt(ctx) == ctx.now
    when = "callback.booked_open" if soon else "callback.booked_closed"
    code = speaker.for_line("callback.code")
    spoken_code = code.code(booking.code)
    return step(
        hotline.say(when, number=hotline.phone_number(ctx.region.hotlines[0])),
        code.say("callback.code", code=spoken_code),
        code.say("callback.code_again", code=spoken_code),
    ).then(goodbye(ctx, place.language))


# -- voice messages -------------------------------------------------------------------------
def voicemail(ctx: CallContext, state: MenuState) -> Step:
    """The warning, then the recording; an empty recording falls through to the channels."""
    speaker = Speaker(ctx, state.language)
    place = state.place
    intro = speaker.for_line("voicemail.intro")
    lines = [
        intro.say("voicemail.intro", key=intro.key_name(FINISH)),
        speaker.say("voicemail.warning"),
    ]
    record = Record(place.link(RECORDING), finish_on_key=FINISH, timeout=MESSAGE_SILENCE)
    # Twilio posts even an empty recording to the action; what follows <Record> is only a
    # safety net for a platform that would not.
    return step(lines, record).then(no_message(ctx, state.language))


def message_seconds(duration: int, ended_by: str) -> int:
    """How long the caller spoke: Twilio reports a recording's length before trimming, with
    the closing silence when silence (no key: `ended_by` "") ended it."""
    silence = MESSAGE_SILENCE if not ended_by else 0
    return max(duration - silence, 0)


def no_message(ctx: CallContext, language: str) -> Step:
    """The recording was silence: nothing to keep; the other channels, goodbye."""
    return other_channels(ctx, language, None, "nothing")


def voicemail_saved(ctx: CallContext, place: CallPlace) -> Step:
    speaker = Speaker(ctx, place.language)
    saved = speaker.say("voicemail.saved", hours=ctx.region.email_reply_hours)
    return step(saved).then(goodbye(ctx, place.language))


def other_channels(
    ctx: CallContext, language: str, apology: Prompt | None, missed: str | None = None
) -> Step:
    """An apology if any, the other channels, goodbye: the end every way out may come to."""
    speaker = Speaker(ctx, language)
    lines: list[Prompt] = [apology] if apology else []
    if missed == "nothing":
        lines.append(speaker.say("voicemail.nothing"))
    return step(lines, channel_lines(ctx, language)).then(goodbye(ctx, language))
