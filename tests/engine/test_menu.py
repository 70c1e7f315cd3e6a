"""Single rules of the menu engine that the walk does not pin down."""

from __future__ import annotations

from dataclasses import replace

from ivr.config.prompts import Catalogue
from ivr.engine.menu import answer, present
from ivr.engine.phrases import Speaker
from ivr.engine.questions import Heard
from ivr.engine.state import MenuState, Node
from ivr.engine.steps import Ask, Enqueue, Say, Step
from tests.support.contexts import ContextFactory

OPEN = "2026-03-02T10:00+08:00"


def ask_of(step: Step) -> Ask:
    return next(a for a in step.actions if isinstance(a, Ask))


def test_caller_lost_in_the_pending_guidance_still_reaches_the_priority_queue(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(at=OPEN)
    stuck = MenuState("pending", "cn", "zh-CN", tries=2)
    reference = answer(ctx, stuck, Heard())  # the third silence
    state = dict(ask_of(reference).then.params)
    assert (state["n"], state["w"]) == ("ref", "pending")
    queued = answer(ctx, MenuState(Node.REFERENCE, "cn", "zh-CN", reason="pending"), Heard())
    enqueue = next(a for a in queued.actions if isinstance(a, Enqueue))
    assert enqueue.queue == "cn-zh-CN-priority"


def test_entering_and_rejecting_the_reference_again_and_again_ends(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(at=OPEN)
    state = MenuState(Node.REFERENCE, "cn", "en-US", reason="tx_slow")
    for _ in range(10):
        state = _next_state(answer(ctx, state, Heard(digits="12345678")))
        step = answer(ctx, state, Heard(digits="2"))  # "not right, let me enter it again"
        if any(isinstance(a, Enqueue) for a in step.actions):
            return
        state = _next_state(step)
    raise AssertionError("the caller could loop at the reference for ever")


def _next_state(step: Step) -> MenuState:
    from ivr.engine.state import parse_state

    state = parse_state(dict(ask_of(step).then.params))
    assert state is not None
    return state


def test_pending_guidance_offers_an_agent_first(make_context: ContextFactory) -> None:
    ctx = make_context(at=OPEN)
    step = answer(ctx, MenuState("main", "cn", "en-US"), Heard(digits="4"))
    lines = [p.text for p in ask_of(step).prompts if isinstance(p, Say)]
    assert lines[:2] == [
        "Cancelling or changing a pending transaction.",
        "Every minute counts. To reach an agent straight away, press 0 at any time.",
    ]


def test_a_fallback_line_names_its_keys_in_its_own_language(
    make_context: ContextFactory, catalogue: Catalogue
) -> None:
    # Cantonese without "next.repeat": the English fallback must not say "press 星號鍵".
    entries = {lang: dict(keys) for lang, keys in catalogue.entries.items()}
    del entries["yue-HK"]["next.repeat"]
    ctx = replace(make_context(from_="+85291234567", to="+85221234567"), prompts=Catalogue(entries))
    line = Speaker(ctx, "yue-HK").option("next.repeat", "*")
    assert (line.text, line.language) == ("To hear this again, press star.", "en-US")


def test_empty_reference_entry_skips_to_the_queue(make_context: ContextFactory) -> None:
    ctx = make_context(at=OPEN)
    step = answer(
        ctx, MenuState(Node.REFERENCE, "cn", "en-US", reason="tx_other"), Heard(digits="")
    )
    spoken = [a.text for a in step.actions if isinstance(a, Say)]
    assert "That's fine. Your agent can ask you for it." in spoken
    assert any(isinstance(a, Enqueue) for a in step.actions)


def test_a_menu_is_built_once_per_language_and_shared_by_every_call(
    make_context: ContextFactory,
) -> None:
    first, second = make_context(at=OPEN), make_context(at="2026-03-03T11:00+08:00")
    main = MenuState("main", "cn", "en-US")
    one, two = ask_of(present(first, main)), ask_of(present(second, main))
    assert one.prompts is two.prompts and one.hints is two.hints
    assert ask_of(present(first, replace(main, language="zh-CN"))).prompts != one.prompts


def test_calls_reading_other_prompts_never_hear_the_lines_built_from_the_first(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(at=OPEN)
    main = MenuState("main", "cn", "en-US")
    assert ask_of(present(ctx, main)).prompts[0] == Say("Main menu.", "en-US")
    entries = {lang: dict(keys) for lang, keys in ctx.prompts.entries.items()}
    entries["en-US"]["main.title"] = replace(entries["en-US"]["main.title"], value="Menu.")
    edited = replace(ctx, prompts=Catalogue(entries))
    assert ask_of(present(edited, main)).prompts[0] == Say("Menu.", "en-US")
