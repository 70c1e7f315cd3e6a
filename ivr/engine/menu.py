"""The menu engine: (call context, menu state, what the caller did) -> the next Step.

Pure: no clock, no database, no HTTP. Every node answers a key, a phrase or silence, and no
node is a dead end: after MAX_TRIES misses the caller is taken to an agent (when open) or
told the other ways to reach us and wished goodbye.
"""

from __future__ import annotations

from ivr.engine.announcements import QueueMode, message_lines, mode_notice, queue_mode
from ivr.engine.closing import agents_open, channel_lines, when_back
from ivr.engine.context import CallContext
from ivr.engine.handoff import answer_reference, reference_prompt, to_agent, way_out
from ivr.engine.phrases import Speaker, best_match
from ivr.engine.questions import (
    AGENT,
    CALLBACK,
    GOODBYE,
    MAIN_MENU,
    REPEAT,
    VOICEMAIL,
    Heard,
    Option,
    ask,
    choose,
)
from ivr.engine.state import CALLBACK_NODES, REASONS, MenuState, Node
from ivr.engine.steps import MENU, Ask, Prompt, Redirect, Say, Step, step
from ivr.engine.ways import (
    answer_callback,
    callback_prompt,
    can_call_back,
    other_channels,
    other_ways,
    start_callback,
    voicemail,
    ways_menu,
    ways_options,
)

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
NEXT_OPTIONS = (
    Option("*", REPEAT, "next.repeat"),
    Option("0", AGENT, "next.agent"),
    Option("#", MAIN_MENU, "next.menu"),
)

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
    state = MenuState(
        Node.LANGUAGE, region.id, region.default_language, caller_id_failed=ctx.caller_id_failed
    )
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
    choice = choose(Speaker(ctx, state.language), options, heard)
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
        return ways_menu(ctx, state)
    if state.node in CALLBACK_NODES:
        return callback_prompt(ctx, state)
    return _guidance(ctx, state)


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
    state = MenuState(Node.MAIN, ctx.region.id, language, caller_id_failed=ctx.caller_id_failed)
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
        return ways_options(ctx)
    return NEXT_OPTIONS


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
    return ask(speaker, state, lines, options)


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
    return ask(speaker, state, lines, NEXT_OPTIONS)


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
