"""The menu engine: (call context, menu state, what the caller did) -> the next Step.

Pure: no clock, no database, no HTTP. Every node answers a key, a phrase or silence, and no
node is a dead end: after MAX_TRIES misses the caller is taken to an agent (when open) or
told the other ways to reach us and wished goodbye.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.engine.announcements import QueueMode, message_lines, mode_notice, queue_mode
from ivr.engine.context import CallContext
from ivr.engine.handoff import (
    agents_open,
    answer_reference,
    channel_lines,
    reference_prompt,
    to_agent,
    way_out,
    when_back,
)
from ivr.engine.phrases import Speaker, best_match
from ivr.engine.state import CALLBACK_NODES, REASONS, MenuState, Node
from ivr.engine.steps import MENU, Ask, Prompt, Redirect, Say, Step, step
from ivr.engine.ways import (
    answer_callback,
    callback_prompt,
    can_call_back,
    offer_line,
    other_channels,
    start_callback,
    voicemail,
)


@dataclass(frozen=True)
class Heard:
    """What the caller did at a prompt: keys, words, or nothing (silence, or '#' alone)."""

    digits: str = ""
    speech: str = ""

    @property
    def nothing(self) -> bool:
        return not self.digits and not self.speech.strip()


@dataclass(frozen=True)
class Option:
    key: str
    choice: str  # what the option does; also names its prompt and speech words
    prompt: str
    speech: str | None = None  # the speech words' key, when not derived from the prompt's


REPEAT, AGENT, MAIN_MENU = "repeat", "agent", "menu"
CALLBACK, VOICEMAIL, GOODBYE = "callback", "voicemail", "goodbye"

MAIN_OPTIONS = (
    Option("1", Node.PASSWORD, "main.password"),
    Option("2", Node.SECURITY, "main.security"),
    Option("3", Node.TRANSACTION, "main.transaction"),
    Option("4", Node.PENDING, "main.pending"),
    Option("9", Node.CHANNELS, "main.channels"),
    Option("0", AGENT, "main.agent"),
    Option("*", REPEAT, "main.repeat"),
)
TRANSACTION_OPTIONS = (
    Option("1", Node.TX_SLOW, "transaction.slow"),
    Option("2", Node.TX_FAILED, "transaction.failed"),
    Option("3", Node.TX_OTHER, "transaction.other"),
    Option("*", REPEAT, "transaction.repeat"),
)
# Keys that work in every menu although not read out: 0 for an agent, # for the main menu.
UNIVERSAL_KEYS = {"0": AGENT, "#": MAIN_MENU}
NEXT_OPTIONS = (
    Option("*", REPEAT, "next.repeat"),
    Option("0", AGENT, "next.agent"),
    Option("#", MAIN_MENU, "next.menu"),
)
# When no agent can take the call now. The callback line is worded by whether agents are
# open, so its prompt is chosen when spoken (see `_ways`).
WAYS_OPTIONS = (
    Option("1", CALLBACK, "callback.offer_open", "callback.speech.callback"),
    Option("2", VOICEMAIL, "callback.voicemail", "callback.speech.voicemail"),
    Option("3", GOODBYE, "callback.channels", "callback.speech.channels"),
    Option("#", MAIN_MENU, "callback.menu", "next.speech.menu"),
    Option("*", REPEAT, "callback.repeat", "next.speech.repeat"),
)
_SPEECH_AREA = {
    "main.": "main.speech.",
    "transaction.": "transaction.speech.",
    "next.": "next.speech.",
}

# What each guidance reads out: prompt keys, or (key, press) for a line that names a key.
GUIDANCE_TEXT: dict[Node, tuple[str | tuple[str, str], ...]] = {
    Node.PASSWORD: ("password.title", "password.steps", "password.no_message"),
    Node.SECURITY: ("security.title", "security.steps"),
    Node.TX_SLOW: ("transaction.slow_steps",),
    Node.TX_FAILED: ("transaction.failed_steps",),
    Node.TX_OTHER: ("transaction.other_steps",),
    # A pending transaction may be cancellable for minutes only: the way to an agent comes first.
    Node.PENDING: ("pending.title", ("pending.now", "0"), "pending.steps"),
}


def start(ctx: CallContext) -> Step:
    """The first answer to an incoming call."""
    region = ctx.region
    state = MenuState(Node.LANGUAGE, region.id, region.default_language)
    if len(region.languages) > 1:
        return language_menu(ctx, state)
    return welcome(ctx, state.language)


def restart(ctx: CallContext) -> Step:
    """For a step whose state is missing or stale: apologise and start over."""
    speaker = Speaker(ctx, ctx.region.default_language)
    return step(speaker.say("common.restart")).then(start(ctx))


def respond(ctx: CallContext, state: MenuState | None, heard: Heard) -> Step:
    """The caller's answer to the question in `state`; a missing or stale state starts over."""
    if state is None or state.region != ctx.region.id or state.language not in ctx.region.languages:
        return restart(ctx)
    return answer(ctx, state, heard)


def answer(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    """The caller's answer at `state.node` (a state known to fit the call's region)."""
    if state.node is Node.LANGUAGE:
        return _answer_language(ctx, state, heard)
    if state.node in (Node.REFERENCE, Node.CONFIRM):
        return answer_reference(ctx, state, heard.digits)
    if state.node in CALLBACK_NODES:
        return answer_callback(ctx, state, heard.digits)
    options = _options(state.node, ctx)
    choice = _choose(Speaker(ctx, state.language), options, heard)
    if choice is None:
        return _again(ctx, state, heard)
    return _act(ctx, state, choice)


def present(ctx: CallContext, state: MenuState) -> Step:
    """Ask the question of `state.node` (again, when tries > 0)."""
    if state.node is Node.LANGUAGE:
        return language_menu(ctx, state)
    if state.node is Node.MAIN:
        return _menu(ctx, state, ("main.title",), MAIN_OPTIONS)
    if state.node is Node.TRANSACTION:
        return _menu(ctx, state, ("transaction.title",), TRANSACTION_OPTIONS)
    if state.node in (Node.REFERENCE, Node.CONFIRM):
        return reference_prompt(ctx, state)
    if state.node is Node.WAYS:
        return _ways(ctx, state)
    if state.node in CALLBACK_NODES:
        return callback_prompt(ctx, state)
    return _guidance(ctx, state)


def other_ways(ctx: CallContext, state: MenuState) -> Step:
    """No agent can take the call now: a callback, a voice message, the channels, the menu.

    `state.reason` says why the caller wanted an agent, and travels on to the callback."""
    return present(ctx, state.at(Node.WAYS, digits=None))


def main_menu(ctx: CallContext, state: MenuState) -> Step:
    return present(ctx, state.at(Node.MAIN, reason=None, digits=None))


def welcome(ctx: CallContext, language: str) -> Step:
    """Greeting, the other-region notice when it applies, the safety notice, the main menu."""
    speaker = Speaker(ctx, language)
    lines = [
        speaker.say("common.welcome", company=ctx.company)
        if ctx.company
        else speaker.say("common.welcome_generic")
    ]
    if ctx.place.on_another_regions_line:
        notice = speaker.for_line("roaming.other_line")
        number = notice.phone_number(ctx.region.hotlines[0])
        lines += [notice.say("roaming.other_line", number=number), speaker.say("roaming.fees")]
    lines.append(speaker.say("common.safety"))
    # Operators' messages (an outage, a scam warning) once per call, right before the menu.
    lines += message_lines(ctx, language)
    state = MenuState(Node.MAIN, ctx.region.id, language)
    return step(lines).then(main_menu(ctx, state))


# -- language choice ---------------------------------------------------------------------
def language_menu(ctx: CallContext, state: MenuState) -> Step:
    """Each language offered in its own voice; speech only in the region's default language."""
    languages = ctx.region.languages
    prompts: list[Prompt] = [
        Speaker(ctx, language).say("language.choose", key=str(number))
        for number, language in enumerate(languages, start=1)
    ]
    default = Speaker(ctx, ctx.region.default_language)
    hints = tuple(
        word for language in languages for word in Speaker(ctx, language).words("language.speech")
    )
    ask = Ask(
        tuple(prompts),
        state.link(MENU),
        speech_language=default.recognition,
        hints=hints,
    )
    return step(ask, Redirect(state.link(MENU)))


def _answer_language(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    languages = ctx.region.languages
    chosen: str | None = None
    if heard.digits.isdigit() and 1 <= int(heard.digits) <= len(languages):
        chosen = languages[int(heard.digits) - 1]
    elif heard.speech:
        words = {lang: Speaker(ctx, lang).words("language.speech") for lang in languages}
        chosen = best_match(heard.speech, words)
    if chosen is not None:
        return welcome(ctx, chosen)
    if state.out_of_tries:
        return welcome(ctx, ctx.region.default_language)
    return step(_sorry(Speaker(ctx, state.language), heard)).then(language_menu(ctx, state.retry()))


# -- menus and guidance --------------------------------------------------------------------
def _options(node: Node, ctx: CallContext) -> tuple[Option, ...]:
    if node is Node.MAIN:
        return MAIN_OPTIONS
    if node is Node.TRANSACTION:
        return TRANSACTION_OPTIONS
    if node is Node.WAYS:
        return _ways_options(ctx)
    return NEXT_OPTIONS


def _ways_options(ctx: CallContext) -> tuple[Option, ...]:
    if can_call_back(ctx):
        return WAYS_OPTIONS
    return tuple(option for option in WAYS_OPTIONS if option.choice != CALLBACK)


def _ways(ctx: CallContext, state: MenuState) -> Step:
    speaker = Speaker(ctx, state.language)
    options = _ways_options(ctx)
    lines: list[Prompt] = [
        offer_line(ctx, state.language, option.key)
        if option.choice == CALLBACK
        else speaker.option(option.prompt, option.key)
        for option in options
    ]
    return _ask(speaker, state, lines, options)


def _choose(speaker: Speaker, options: tuple[Option, ...], heard: Heard) -> str | None:
    if heard.digits:
        by_key = {option.key: option.choice for option in options}
        return by_key.get(heard.digits) or UNIVERSAL_KEYS.get(heard.digits)
    if heard.speech:
        # Asking for a person wins over any topic said in the same breath.
        return best_match(heard.speech, _speech_words(speaker, options), first=(AGENT,))
    return None


def _speech_words(speaker: Speaker, options: tuple[Option, ...]) -> dict[str, tuple[str, ...]]:
    """What the caller may say for each choice; "agent" and "main menu" are understood in
    every menu, like the keys 0 and #."""
    words = {option.choice: speaker.words(_speech_key(option)) for option in options}
    words.setdefault(AGENT, speaker.words("next.speech.agent"))
    words.setdefault(MAIN_MENU, speaker.words("next.speech.menu"))
    return words


def _speech_key(option: Option) -> str:
    if option.speech:
        return option.speech
    for area, speech in _SPEECH_AREA.items():
        if option.prompt.startswith(area):
            return speech + option.prompt.removeprefix(area)
    raise KeyError(option.prompt)


def _act(ctx: CallContext, state: MenuState, choice: str) -> Step:
    if choice == REPEAT:
        return present(ctx, state.at(state.node))
    if choice == MAIN_MENU:
        return main_menu(ctx, state)
    reason = _agent_reason(state)
    if choice == AGENT:
        if not agents_open(ctx):
            closed = step(when_back(ctx, state.language))
            return closed.then(other_ways(ctx, state.at(state.node, reason=reason)))
        if not _queue_open(ctx, state):
            return _not_queued(ctx, state.at(state.node, reason=reason))
        return to_agent(ctx, state.language, reason=reason)
    if choice == CALLBACK:
        return start_callback(ctx, state)
    if choice == VOICEMAIL:
        return voicemail(ctx, state)
    if choice == GOODBYE:
        return other_channels(ctx, state.language, None)
    return present(ctx, state.at(Node(choice)))


def _menu(
    ctx: CallContext, state: MenuState, intro: tuple[str, ...], options: tuple[Option, ...]
) -> Step:
    speaker = Speaker(ctx, state.language)
    lines: list[Prompt] = [speaker.say(key) for key in intro]
    lines += [speaker.option(option.prompt, option.key) for option in options]
    return _ask(speaker, state, lines, options)


def _guidance(ctx: CallContext, state: MenuState) -> Step:
    """Guidance read out step by step (only the options again after a miss), then what next."""
    speaker = Speaker(ctx, state.language)
    lines: list[Prompt] = []
    if state.tries == 0:
        if state.node is Node.CHANNELS:
            lines += channel_lines(ctx, state.language)
        for item in GUIDANCE_TEXT.get(state.node, ()):
            if isinstance(item, tuple):
                lines.append(speaker.option(*item))
            else:
                lines += speaker.steps(item)
    lines += [speaker.option(option.prompt, option.key) for option in NEXT_OPTIONS]
    return _ask(speaker, state, lines, NEXT_OPTIONS)


def _ask(
    speaker: Speaker, state: MenuState, lines: list[Prompt], options: tuple[Option, ...]
) -> Step:
    words = _speech_words(speaker, options).values()
    hints = tuple(dict.fromkeys(word for choice in words for word in choice))  # once each, in order
    ask = Ask(tuple(lines), state.link(MENU), speech_language=speaker.recognition, hints=hints)
    # Reached only when the Gather heard nothing: the same URL without Digits means silence.
    return step(ask, Redirect(state.link(MENU)))


def _again(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    if state.out_of_tries and state.node is Node.WAYS:
        # The caller is here because no agent can take the call: do not queue them again.
        return other_channels(ctx, state.language, _sorry(Speaker(ctx, state.language), heard))
    if state.out_of_tries and agents_open(ctx) and not _queue_open(ctx, state):
        intro = step(Speaker(ctx, state.language).say("agent.way_out"))
        return intro.then(_not_queued(ctx, state.at(state.node, reason=_agent_reason(state))))
    if state.out_of_tries:
        return way_out(ctx, state)
    return step(_sorry(Speaker(ctx, state.language), heard)).then(present(ctx, state.retry()))


def _agent_reason(state: MenuState) -> str:
    return state.reason or (state.node.value if state.node.value in REASONS else "menu")


def _queue_open(ctx: CallContext, state: MenuState) -> bool:
    return queue_mode(ctx, state.language) is QueueMode.OPEN


def _not_queued(ctx: CallContext, state: MenuState) -> Step:
    """An operator closed the caller's queue or made it callback-only: say so, then the
    other ways (callback, voice message, channels); self-service stays a # away."""
    mode = queue_mode(ctx, state.language)
    notice = mode_notice(ctx, state.language, mode, can_call_back(ctx))
    return step(notice).then(other_ways(ctx, state))


def _sorry(speaker: Speaker, heard: Heard) -> Say:
    return speaker.say("common.sorry_silence" if heard.nothing else "common.sorry_invalid")
