"""A question with options, as every menu asks it: keys and words for each choice, the keys
and words that work everywhere (0 or "agent" for a person, # or "menu" for the main menu), and
the Gather that listens for them. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.engine.phrases import Speaker, best_match
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


@dataclass(frozen=True)
class Option:
    key: str
    choice: str  # what the option does; also names its prompt and speech words
    prompt: str
    speech: str | None = None  # the speech words' key, when not derived from the prompt's


REPEAT, AGENT, MAIN_MENU = "repeat", "agent", "menu"
CALLBACK, VOICEMAIL, GOODBYE = "callback", "voicemail", "goodbye"

# Keys that work in every menu although not read out: 0 for an agent, # for the main menu.
UNIVERSAL_KEYS = {"0": AGENT, "#": MAIN_MENU}
SPEECH_AREA = {
    "main.": "main.speech.",
    "transaction.": "transaction.speech.",
    "next.": "next.speech.",
}


def choose(speaker: Speaker, options: tuple[Option, ...], heard: Heard) -> str | None:
    if heard.digits:
        by_key = {option.key: option.choice for option in options}
        return by_key.get(heard.digits) or UNIVERSAL_KEYS.get(heard.digits)
    if heard.speech:
        # Asking for a person wins over any topic said in the same breath.
        return best_match(heard.speech, speech_words(speaker, options), first=(AGENT,))
    return None


def speech_words(speaker: Speaker, options: tuple[Option, ...]) -> dict[str, tuple[str, ...]]:
    """What the caller may say for each choice; "agent" and "main menu" are understood in
    every menu, like the keys 0 and #."""
    words = {option.choice: speaker.words(speech_key(option)) for option in options}
    words.setdefault(AGENT, speaker.words("next.speech.agent"))
    words.setdefault(MAIN_MENU, speaker.words("next.speech.menu"))
    return words


def speech_key(option: Option) -> str:
    if option.speech:
        return option.speech
    for area, speech in SPEECH_AREA.items():
        if option.prompt.startswith(area):
            return speech + option.prompt.removeprefix(area)
    raise KeyError(option.prompt)


def ask(
    speaker: Speaker, state: MenuState, lines: list[Prompt], options: tuple[Option, ...]
) -> Step:
    words = speech_words(speaker, options).values()
    hints = tuple(dict.fromkeys(word for choice in words for word in choice))  # once each, in order
    ask = Ask(tuple(lines), state.link(MENU), speech_language=speaker.recognition, hints=hints)
    # Reached only when the Gather heard nothing: the same URL without Digits means silence.
    return step(ask, Redirect(state.link(MENU)))
