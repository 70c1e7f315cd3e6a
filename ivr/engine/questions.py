"""A question with options, as every menu asks it: keys and words for each choice, the keys
and words that work everywhere (0 or "agent" for a person, # or "menu" for the main menu), and
the Gather that listens for them. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, zip_longest

from ivr.config.flows import AGENT, CALLBACK, GOODBYE, MAIN_MENU, REPEAT, VOICEMAIL, Option
from ivr.engine.phrases import STEM, Speaker, best_match
from ivr.engine.state import MenuState
from ivr.engine.steps import MENU, Ask, Prompt, Redirect, Step, step


@dataclass(frozen=True)
class Heard:
    """What the caller did at a prompt: keys, words, or nothing (silence, or '#' alone)."""

    digits: str = ""
    speech: str = ""

    @property
    def nothing(self) -> bool:
        return not self.digits and not self.speech.strip()


# Keys that work in every menu although not always read out: 0 for a person, # for the main
# menu, * for the question again.
UNIVERSAL_KEYS = {"0": AGENT, "#": MAIN_MENU, "*": REPEAT}
# Understood in every menu, like the keys 0 and #.
UNIVERSAL_WORDS = {AGENT: "next.speech.agent", MAIN_MENU: "next.speech.menu"}
# The words of a target, for an option to it whose prompt has no words of its own.
TARGET_WORDS = {
    **UNIVERSAL_WORDS,
    REPEAT: "next.speech.repeat",
    CALLBACK: "callback.speech.callback",
    VOICEMAIL: "callback.speech.voicemail",
    GOODBYE: "callback.speech.channels",
}

# Twilio's limit for <Gather hints>: a comma-separated list of at most 500 entries, each of
# at most 100 characters (Twilio error 13330, "Gather: Invalid hints value",
# https://www.twilio.com/docs/api/errors/13330).
MAX_HINTS = 500
MAX_HINT_CHARS = 100


def choose(
    speaker: Speaker, options: tuple[Option, ...], heard: Heard, priority: tuple[str, ...] = ()
) -> str | None:
    """Where the caller's keys or words lead among `options`; None for a miss.

    When a caller names several choices in one breath, the first in `priority` (the flow's
    `speech_priority`) wins: callers speak in sentences, and a sentence about one problem often
    names another topic's words ("cancel my withdrawal" names a transaction too, but the
    caller wants it stopped). A phrase inside a longer phrase of another choice does not count
    (see `ivr.engine.phrases.best_match`), so the order never overrules more specific words."""
    if heard.digits:
        by_key = {option.key: option.to for option in options}
        return by_key.get(heard.digits) or UNIVERSAL_KEYS.get(heard.digits)
    if heard.speech:
        return best_match(heard.speech, speech_words(speaker, options), first=priority)
    return None


def speech_words(speaker: Speaker, options: tuple[Option, ...]) -> dict[str, tuple[str, ...]]:
    """What the caller may say for each choice; "agent" and "main menu" are understood in
    every menu, like the keys 0 and #."""
    words: dict[str, tuple[str, ...]] = {}
    for option in options:
        key = option.speech_key
        said = speaker.words(key) if key else ()
        if not said and option.speech is None and option.to in TARGET_WORDS:
            said = speaker.words(TARGET_WORDS[option.to])
        words[option.to] = words.get(option.to, ()) + said
    for choice, key in UNIVERSAL_WORDS.items():
        if not words.get(choice):
            words[choice] = speaker.words(key)
    return words


def ask(
    speaker: Speaker,
    state: MenuState,
    lines: tuple[Prompt, ...],
    options: tuple[Option, ...],
    hints: tuple[str, ...] | None = None,
) -> Step:
    """The Gather of a question, then (no answer) the same question's URL: silence."""
    if hints is None:
        hints = gather_hints(speech_words(speaker, options).values())
    ask = Ask(lines, state.link(MENU), speech_language=speaker.recognition, hints=hints)
    # Reached only when the Gather heard nothing: the same URL without Digits means silence.
    return step(ask, Redirect(state.link(MENU)))


def gather_hints(words: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """The speech words as <Gather> hints, within Twilio's limits: each choice's first words
    first (the one the menu tells callers to say leads each list), taking turns, so a cut
    never drops a whole choice; once each, stems without their `*`, none with a comma (the
    separator) or longer than a hint may be."""
    taking_turns = chain.from_iterable(zip_longest(*words, fillvalue=""))
    hints = (word.strip().removesuffix(STEM).strip() for word in taking_turns)
    fit = (hint for hint in hints if hint and "," not in hint and len(hint) <= MAX_HINT_CHARS)
    return tuple(dict.fromkeys(fit))[:MAX_HINTS]
