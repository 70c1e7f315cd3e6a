"""The way to a human: opening hours, what to prepare, the transaction reference, the queue.

Pure like the menu: the caller's reference and reason leave here as a QueueEntry effect,
and the HTTP edge stores it for the agent.
"""

from __future__ import annotations

from ivr.engine.closing import agents_open, channel_lines, goodbye
from ivr.engine.context import CallContext
from ivr.engine.phrases import Speaker
from ivr.engine.state import MENU_REASON, CallPlace, MenuState, Node
from ivr.engine.steps import (
    MENU,
    QUEUE_RESULT,
    QUEUE_WAIT,
    Ask,
    Enqueue,
    Prompt,
    QueueEntry,
    Redirect,
    Step,
    step,
)
from ivr.engine.ways import other_ways

YES, RETRY = "1", "2"


def to_agent(ctx: CallContext, language: str, reason: str) -> Step:
    """Agents are open: say what to prepare, ask for a reference when it helps, then queue.
    With no agent logged in for the caller's language: the overflow queue, or other ways."""
    queue = staffed_queue(ctx, language, reason)
    if queue is None:
        return no_agent_for_language(ctx, language, reason)
    speaker = Speaker(ctx, language)
    prepare = step(speaker.say("agent.prepare"))
    if queue != ctx.region.queue_name(language, priority=ctx.flow.is_priority(reason)):
        overflow = ctx.region.overflow[1] if ctx.region.overflow else language
        telling = speaker.for_line("agent.overflow")
        name = telling.text(f"agent_line.languages.{overflow}")
        prepare = step(telling.say("agent.overflow", language=name)).then(prepare)
    if ctx.flow.asks_reference(reason):
        state = MenuState(
            Node.REFERENCE,
            ctx.region.id,
            language,
            reason=reason,
            caller_id_failed=ctx.caller_id_failed,
        )
        return prepare.then(reference_prompt(ctx, state))
    return prepare.then(enqueue(ctx, language, reason))


def way_out(ctx: CallContext, state: MenuState) -> Step:
    """After three misses: an agent when open, else the other channels and a polite goodbye.

    The reason is the question the caller was stuck at, so a caller lost in the pending
    transaction guidance still reaches the priority queue.
    """
    speaker = Speaker(ctx, state.language)
    intro = step(speaker.say("agent.way_out"))
    if agents_open(ctx):
        node = ctx.flow.nodes.get(state.node)
        topical = node is not None and node.kind != "ways" and node.id != ctx.flow.main
        reason = node.id if node is not None and topical else MENU_REASON
        return intro.then(to_agent(ctx, state.language, reason=reason))
    return intro.then(step(channel_lines(ctx, state.language))).then(goodbye(ctx, state.language))


def enqueue(
    ctx: CallContext,
    language: str,
    reason: str,
    reference: str | None = None,
    queue: str | None = None,
    marks: tuple[tuple[str, str], ...] = (),
) -> Step:
    """Join `queue` (default: the region's queue for the language and reason), kept with the
    call for the agent. `marks` go into the queue's webhook URLs (the callback being served)."""
    region = ctx.region
    if queue is None:
        queue = staffed_queue(ctx, language, reason)
        if queue is None:  # the last agent for the language logged out meanwhile
            return no_agent_for_language(ctx, language, reason)
    place = CallPlace(region.id, language, reason, ctx.caller_id_failed)
    effect = QueueEntry(queue, region.id, language, reason, reference)
    wait = place.link(QUEUE_WAIT, ("q", queue), *marks)
    join = Enqueue(queue, wait=wait, then=place.link(QUEUE_RESULT, *marks))
    return step(Speaker(ctx, language).say("agent.connecting"), join, effects=(effect,))


def staffed_queue(ctx: CallContext, language: str, reason: str) -> str | None:
    """The queue for a caller of `language`: their own while an agent for it is logged in
    (always, when no agent is configured: agents then take callers some other way), else the
    region's overflow queue while that is staffed, else None."""
    region = ctx.region
    priority = ctx.flow.is_priority(reason)
    staffing = ctx.staffing
    if staffing is None or staffing.serves(region.id, language):
        return region.queue_name(language, priority=priority)
    if region.overflow is not None and staffing.serves(*region.overflow):
        return region.overflow_queue(priority=priority)
    return None


def no_agent_for_language(ctx: CallContext, language: str, reason: str) -> Step:
    """Nobody logged in speaks the caller's language: say so, then the other ways (a
    callback, a voice message, the channels) rather than a wait for nobody."""
    state = MenuState(
        Node.WAYS, ctx.region.id, language, reason=reason, caller_id_failed=ctx.caller_id_failed
    )
    return step(Speaker(ctx, language).say("agent.no_language")).then(other_ways(ctx, state))


# -- the transaction reference ------------------------------------------------------------
def reference_prompt(ctx: CallContext, state: MenuState) -> Step:
    """Ask for the reference digits, or read them back for confirmation."""
    speaker = Speaker(ctx, state.language)
    if state.node == Node.CONFIRM and state.digits:
        confirming = speaker.for_line("agent.reference_readback")
        prompts: tuple[Prompt, ...] = (
            confirming.say("agent.reference_readback", digits=confirming.digits(state.digits)),
            speaker.say("agent.reference_confirm", yes_key=YES, retry_key=RETRY),
        )
        ask = Ask(prompts, state.link(MENU), input="dtmf")
    else:
        asking = speaker.for_line("agent.reference_ask")
        keys = {"finish_key": asking.key_name("#"), "skip_key": asking.key_name("*")}
        prompts = (
            asking.say("agent.reference_ask", **keys),
            speaker.say("agent.reference_letters"),
        )
        # '#' ends the entry and is not part of Digits; '*' is collected, so it means "skip".
        # An empty entry ('#' alone, or nothing at all) is posted too, and also skips.
        ask = Ask(
            prompts,
            state.link(MENU),
            input="dtmf",
            num_digits=None,
            finish_on_key="#",
            timeout=6,
            action_on_empty_result=True,
        )
    return step(ask, Redirect(state.link(MENU)))


def answer_reference(ctx: CallContext, state: MenuState, digits: str) -> Step:
    speaker = Speaker(ctx, state.language)
    reason = state.reason or "menu"
    if state.node == Node.CONFIRM:
        if digits == YES and state.digits:
            thanks = step(speaker.say("agent.reference_thanks"))
            return thanks.then(enqueue(ctx, state.language, reason, state.digits))
        if digits == RETRY:
            return _reference_again(ctx, state, None)
        apology = "common.sorry_silence" if not digits else "common.sorry_invalid"
        return _reference_again(ctx, state, apology)
    if "*" in digits or not digits:
        return _skip_reference(ctx, state)
    shortest, longest = ctx.reference_lengths
    if digits.isdigit() and shortest <= len(digits) <= longest:
        # Tries carry over, so entering and rejecting again and again still comes to an end.
        confirm = state.at(Node.CONFIRM, reason=reason, digits=digits, tries=state.tries)
        return reference_prompt(ctx, confirm)
    return _reference_again(ctx, state, "agent.reference_length")


def _reference_again(ctx: CallContext, state: MenuState, apology: str | None) -> Step:
    if state.out_of_tries:
        return _skip_reference(ctx, state)
    speaker = Speaker(ctx, state.language)
    shortest, longest = ctx.reference_lengths
    lines = [speaker.say(apology, min=shortest, max=longest)] if apology else []
    if state.node == Node.CONFIRM and apology and apology.startswith("common."):
        again = state.retry()  # a missed confirmation asks the confirmation again
    else:
        again = state.at(Node.REFERENCE, tries=state.tries + 1, digits=None)
    return step(lines).then(reference_prompt(ctx, again))


def _skip_reference(ctx: CallContext, state: MenuState) -> Step:
    skipped = step(Speaker(ctx, state.language).say("agent.reference_skipped"))
    return skipped.then(enqueue(ctx, state.language, state.reason or "menu"))


def apology(ctx: CallContext, language: str) -> Step:
    """What a caller hears when something broke on our side: sorry, other channels, goodbye."""
    lines = step(Speaker(ctx, language).say("common.error"), channel_lines(ctx, language))
    return lines.then(goodbye(ctx, language))


def fallback(ctx: CallContext, *, may_queue: bool = True) -> Step:
    """Sorry and the other channels, in the region's default language (the caller's choice of
    language was lost with the failed webhook); then the region's queue if agents are open,
    else goodbye."""
    language = ctx.region.default_language
    if not (may_queue and agents_open(ctx)):
        return apology(ctx, language)
    sorry = step(Speaker(ctx, language).say("common.error"), channel_lines(ctx, language))
    queued = sorry.then(enqueue(ctx, language, "menu"))
    # No effects: the queue entry would be a database write, which the fallback never makes.
    return Step(queued.actions)
