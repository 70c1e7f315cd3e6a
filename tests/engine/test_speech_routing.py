"""Callers who answer the main menu in their own words reach the option they mean, in every
language: the phrase tables in prompts/<language>/main.toml and the intent order of
the sample flow's `speech_priority` (flows.toml), run through the real prompts.

The sentences are in tests/engine/speech_phrases/<language>.toml: at least ten per option,
written as callers of a wallet's support line say them, not copied from the word lists.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ivr.config.flows import FlowBook, Option
from ivr.config.languages import LANGUAGES
from ivr.config.prompts import Catalogue
from ivr.engine.menu import answer
from ivr.engine.phrases import Speaker, normalize_speech
from ivr.engine.questions import Heard, choose
from ivr.engine.state import MenuState, parse_state
from ivr.engine.steps import Ask, Step
from tests.support.contexts import ContextFactory

PHRASES = Path(__file__).parent / "speech_phrases"
INTENTS = ("password", "security", "transaction", "pending", "agent")
AT_LEAST = 10
MENUS = {"main": "main", "transaction_menu": "tx"}


def _table(language: str) -> dict[str, object]:
    with (PHRASES / f"{language}.toml").open("rb") as file:
        return tomllib.load(file)


def _options(flows: FlowBook, menu: str) -> tuple[Option, ...]:
    return flows.default.nodes[MENUS[menu]].options


def _option(options: tuple[Option, ...], intent: str) -> Option:
    return next(option for option in options if (option.say or "").endswith(f".{intent}"))


def _cases() -> list[object]:
    cases = []
    for language in sorted(LANGUAGES):
        table = _table(language)
        sections = {"main": table, "transaction_menu": table.get("transaction_menu", {})}
        for menu, section in sections.items():
            assert isinstance(section, dict)
            for intent, sentences in section.items():
                if isinstance(sentences, list):
                    for number, said in enumerate(sentences, start=1):
                        case_id = f"{language}-{menu}-{intent}-{number}"
                        cases.append(pytest.param(language, menu, intent, said, id=case_id))
    return cases


@pytest.mark.parametrize(("language", "menu", "intent", "said"), _cases())
def test_a_caller_in_their_own_words_reaches_the_option_they_mean(
    make_context: ContextFactory,
    flows: FlowBook,
    language: str,
    menu: str,
    intent: str,
    said: str,
) -> None:
    options = _options(flows, menu)
    speaker = Speaker(make_context(), language)
    heard = choose(speaker, options, Heard(speech=said), flows.default.speech_priority)
    assert heard == _option(options, intent).to


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_has_enough_sentences_of_its_own_for_every_option(
    catalogue: Catalogue, flows: FlowBook, language: str
) -> None:
    """At least ten sentences per option, and none is just one of the listed words: the table
    proves the words catch what callers say, not that a word matches itself."""
    table = _table(language)
    listed = {
        normalize_speech(word)
        for menu in MENUS
        for option in _options(flows, menu)
        if option.speech_key
        for word in catalogue.words(language, option.speech_key)
    }
    for intent in INTENTS:
        sentences = table[intent]
        assert isinstance(sentences, list)
        assert len(sentences) >= AT_LEAST, f"{language} {intent}: {len(sentences)} sentences"
        assert len(set(sentences)) == len(sentences), f"{language} {intent}: a repeated sentence"
        copies = [said for said in sentences if normalize_speech(said) in listed]
        assert copies == [], f"{language} {intent}: sentences that are listed words"


# Sentences that went to the wrong place, or nowhere, when the longest word heard decided.
ROUTED = [
    ("en-US", "cancel my withdrawal", "pending"),
    ("en-US", "cancel", "pending"),
    ("zh-CN", "我要撤销一笔转账", "pending"),
    ("en-US", "I think I was hacked", "security"),
    ("en-US", "my money didn't arrive", "tx"),
    ("en-US", "I was hacked and someone made a transfer", "security"),
    ("en-US", "I can't log in", "password"),
]


@pytest.mark.parametrize(("language", "said", "node"), ROUTED)
def test_the_main_menu_takes_the_caller_to_the_option_they_meant(
    make_context: ContextFactory, language: str, said: str, node: str
) -> None:
    step = answer(make_context(), MenuState("main", "cn", language), Heard(speech=said))
    assert _asked_at(step) == node


def _asked_at(step: Step) -> str:
    ask = next(action for action in step.actions if isinstance(action, Ask))
    state = parse_state(dict(ask.then.params))
    assert state is not None
    return state.node
