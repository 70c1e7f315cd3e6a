"""The menu engine: (call context, menu state, what the caller did) -> the next Step.

Pure: no clock, no database, no HTTP. The questions and where each key leads are the call's
flow (flows.toml, compiled by ivr.config.flows); what a question says is built once per
(node, language, variant) and kept in the flow (`Flow.said`). Every node answers a key, a
phrase or silence, and no node is a dead end: after MAX_TRIES misses the caller is taken to an
agent (when open) or told the other ways to reach us and wished goodbye.
"""

from __future__ import annotations

from typing import cast

from ivr.config.flows import (
    AGENT,
    CALLBACK,
    GOODBYE,
    MAIN_MENU,
    REPEAT,
    VOICEMAIL,
    Flow,
    GuidanceLine,
    Option,
)
from ivr.engine.announcements import QueueMode, message_lines, mode_notice, queue_mode
from ivr.engine.closing import agents_open, channel_lines, when_back
from ivr.engine.context import CallContext
from ivr.engine.handoff import answer_reference, reference_prompt, to_agent, way_out
from ivr.engine.phrases import Speaker, best_match
from ivr.engine.questions import (
    Heard,
    ask,
    choose,
    gather_hints,
    speech_words,
)
from ivr.engine.state import CALLBACK_NODES, MENU_REASON, MenuState, Node
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

# What a menu or guidance node says, and its Gather's speech hints.
Question = tuple[tuple[Prompt, ...], tuple[str, ...]]
# The key for a person in every menu, and in the language menu when the flow offers it there.
PERSON = "0"
# The welcome's Gather waits this long after its last word before the main menu is read.
WELCOME_WAIT = 1


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
    if (
        state is None
        or state.region != ctx.region.id
        or state.language not in ctx.region.languages
        or not knows(ctx.flow, state.node)
    ):
        return restart(ctx)
    return answer(ctx, state, heard)


def knows(flow: Flow, node: str) -> bool:
    """A question of the engine's own or a node of `flow`."""
    return isinstance(node, Node) or node in flow.nodes


def answer(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    """The caller's answer at `state.node` (a state known to fit the call's region)."""
    if state.node == Node.LANGUAGE:
        return _answer_language(ctx, state, heard)
    if state.node in (Node.REFERENCE, Node.CONFIRM):
        return answer_reference(ctx, state, heard.digits)
    if state.node in CALLBACK_NODES:
        return answer_callback(ctx, state, heard.digits)
    options = _options(ctx, state.node)
    speaker = Speaker(ctx, state.language)
    choice = choose(speaker, options, heard, ctx.flow.speech_priority)
    if choice is None:
        return _again(ctx, state, heard)
    return _act(ctx, state, choice)


def present(ctx: CallContext, state: MenuState) -> Step:
    """Ask the question of `state.node` (again, when tries > 0)."""
    if state.node == Node.LANGUAGE:
        return language_menu(ctx, state)
    if state.node in (Node.REFERENCE, Node.CONFIRM):
        return reference_prompt(ctx, state)
    if state.node == Node.WAYS:
        return ways_menu(ctx, state)
    if state.node in CALLBACK_NODES:
        return callback_prompt(ctx, state)
    lines, hints = _question(ctx, state)
    return ask(Speaker(ctx, state.language), state, lines, (), hints)


def main_menu(ctx: CallContext, state: MenuState) -> Step:
    return present(ctx, state.at(ctx.flow.main, reason=None, digits=None))


def welcome(ctx: CallContext, language: str) -> Step:
    """The greeting, the other-region notice when it applies, the flow's welcome lines (the way
    to a person, the short safety notice) and operators' messages, all inside a Gather whose
    keys answer the main menu; then the main menu."""
    speaker = Speaker(ctx, language)
    lines: list[Prompt] = [
        speaker.say("common.welcome", company=ctx.company)
        if ctx.company
        else speaker.say("common.welcome_generic")
    ]
    if ctx.place.on_another_regions_line:
        notice = speaker.for_line("roaming.other_line")
        number = notice.phone_number(ctx.region.hotlines[0])
        lines += [notice.say("roaming.other_line", number=number), speaker.say("roaming.fees")]
    lines += _lines(speaker, ctx, ctx.flow.welcome)
    # Operators' messages (an outage, a scam warning) once per call, right before the menu.
    lines += message_lines(ctx, language)
    state = MenuState(ctx.flow.main, ctx.region.id, language, caller_id_failed=ctx.caller_id_failed)
    if not ctx.flow.barge_in:
        return step(lines).then(main_menu(ctx, state))
    # Keys only: a noisy room must not cut the notice short. No key: the main menu is read.
    greeting = Ask(tuple(lines), state.link(MENU), input="dtmf", timeout=WELCOME_WAIT)
    return step(greeting).then(main_menu(ctx, state))


# -- language choice ---------------------------------------------------------------------
def language_menu(ctx: CallContext, state: MenuState) -> Step:
    """Each language offered in its own voice, then the way to a person in the first; speech
    in the region's default language only (one Gather hears one language)."""
    languages = ctx.region.languages
    default = Speaker(ctx, ctx.region.default_language)
    prompts: list[Prompt] = [
        Speaker(ctx, language).say("language.choose", key=str(number))
        for number, language in enumerate(languages, start=1)
    ]
    words = [Speaker(ctx, language).words("language.speech") for language in languages]
    if ctx.flow.person_in_language_menu:
        prompts.append(default.option("next.agent", PERSON))
        words.append(default.words("next.speech.agent"))
    hints = gather_hints(words)
    ask = Ask(
        tuple(prompts),
        state.link(MENU),
        speech_language=default.recognition,
        hints=hints,
    )
    return step(ask, Redirect(state.link(MENU)))


def _answer_language(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    languages = ctx.region.languages
    default = Speaker(ctx, ctx.region.default_language)
    chosen: str | None = None
    if heard.digits.isdigit() and 1 <= int(heard.digits) <= len(languages):
        chosen = languages[int(heard.digits) - 1]
    elif heard.speech:
        words: dict[str, tuple[str, ...]] = {
            lang: Speaker(ctx, lang).words("language.speech") for lang in languages
        }
        if ctx.flow.person_in_language_menu:
            words[AGENT] = default.words("next.speech.agent")
        chosen = best_match(heard.speech, words, first=(AGENT,))
    if heard.digits == "*":
        return language_menu(ctx, state.at(Node.LANGUAGE))
    if ctx.flow.person_in_language_menu and (heard.digits == PERSON or chosen == AGENT):
        # A person, in the line's first language, without the welcome.
        return _act(ctx, state.at(Node.LANGUAGE, language=ctx.region.default_language), AGENT)
    if chosen is not None:
        return welcome(ctx, chosen)
    if state.out_of_tries:
        return welcome(ctx, ctx.region.default_language)
    return step(_sorry(Speaker(ctx, state.language), heard)).then(language_menu(ctx, state.retry()))


# -- menus and guidance --------------------------------------------------------------------
def _options(ctx: CallContext, node_id: str) -> tuple[Option, ...]:
    if node_id == Node.WAYS:
        return ways_options(ctx)
    node = ctx.flow.nodes[node_id]
    return ctx.flow.options_of(node)


def _act(ctx: CallContext, state: MenuState, choice: str) -> Step:
    if choice == REPEAT:
        if state.node == Node.LANGUAGE:
            return language_menu(ctx, state.at(Node.LANGUAGE))
        return present(ctx, state.at(state.node))
    if choice == MAIN_MENU:
        return main_menu(ctx, state)
    reason = _agent_reason(ctx, state)
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
    if choice == Node.WAYS:
        return other_ways(ctx, state)
    return present(ctx, state.at(choice))


def _question(ctx: CallContext, state: MenuState) -> Question:
    """What a menu or guidance node says, and the Gather's hints: built once per (node,
    language, fallback, first time or again, region when it reads the region's channels) and
    kept in the flow, since nothing in them depends on the moment or the caller."""
    flow = ctx.flow
    node = flow.nodes[state.node]
    first = state.tries == 0
    local = node.kind == "guidance" and first and any(line.channels for line in node.guidance)
    key: tuple[str, ...] = (node.id, state.language, ctx.region.default_language, str(first))
    key += (ctx.region.id,) if local else ()
    # The flow is compiled against one catalogue; a call reading another (a test's, say)
    # builds its own lines rather than hear the cached ones.
    kept = flow.said.get(key)
    if kept is not None and kept[0] is ctx.prompts:
        return cast(Question, kept[1])
    said = _compile_question(ctx, state)
    flow.said[key] = (ctx.prompts, said)
    return said


def _compile_question(ctx: CallContext, state: MenuState) -> Question:
    flow = ctx.flow
    node = flow.nodes[state.node]
    speaker = Speaker(ctx, state.language)
    lines: list[Prompt] = []
    if node.kind == "guidance":
        if state.tries == 0:
            lines += _lines(speaker, ctx, node.guidance)
    else:
        lines += [speaker.say(key) for key in node.say]
    options = flow.options_of(node)
    lines += [speaker.option(option.say, option.key) for option in options if option.say]
    hints = gather_hints(speech_words(speaker, options).values())
    return tuple(lines), hints


def _lines(speaker: Speaker, ctx: CallContext, lines: tuple[GuidanceLine, ...]) -> list[Prompt]:
    """Guidance lines: a prompt read step by step, a line naming a key, the channels."""
    spoken: list[Prompt] = []
    for line in lines:
        if line.channels:
            spoken += channel_lines(ctx, speaker.language)
        elif line.prompt and line.key:
            spoken.append(speaker.option(line.prompt, line.key))
        elif line.prompt:
            spoken += speaker.steps(line.prompt)
    return spoken


def _again(ctx: CallContext, state: MenuState, heard: Heard) -> Step:
    if state.out_of_tries and state.node == Node.WAYS:
        # The caller is here because no agent can take the call: do not queue them again.
        return other_channels(ctx, state.language, _sorry(Speaker(ctx, state.language), heard))
    if state.out_of_tries and agents_open(ctx) and not _queue_open(ctx, state):
        reason = _agent_reason(ctx, state)
        intro = step(Speaker(ctx, state.language).say("agent.way_out"))
        return intro.then(_not_queued(ctx, state.at(state.node, reason=reason)))
    if state.out_of_tries:
        return way_out(ctx, state)
    return step(_sorry(Speaker(ctx, state.language), heard)).then(present(ctx, state.retry()))


def _agent_reason(ctx: CallContext, state: MenuState) -> str:
    """Why the caller wants a person: the reason carried so far, else the node they asked
    from (a node of the flow other than the ways menu), else "menu"."""
    if state.reason:
        return state.reason
    node = ctx.flow.nodes.get(state.node)
    return node.id if node is not None and node.kind != "ways" else MENU_REASON


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
