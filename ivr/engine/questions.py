"""A question with options, as every menu asks it: keys and words for each choice, the keys
and words that work everywhere (0 or "agent" for a person, # or "menu" for the main menu), and
the Gather that listens for them. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, zip_longest

from ivr.engine.phrases import STEM, Speaker, best_match
from ivr.engine.state import MenuState, Node
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

SPEECH_PRIORITY: tuple[str, ...] = (
    AGENT,
    Node.PENDING,
    Node.SECURITY,
    Node.PASSWORD,
    Node.TRANSACTION,
    Node.TX_FAILED,
    Node.TX_SLOW,
    Node.TX_OTHER,
    CALLBACK,
    VOICEMAIL,
    GOODBYE,
    Node.CHANNELS,
    MAIN_MENU,
    REPEAT,
)
"""Which choice wins when a caller names several in one breath ("cancel my withdrawal").

Callers speak in sentences, and a sentence about one problem often names another topic's
words; the order says which problem a contact centre would take first:

- An agent: a caller who asks for a person gets one, whatever else they said ("agent
  please, my account was hacked"), like the 0 key.
- A pending transaction: it may be cancellable for minutes only, and its guidance puts an
  agent first. "Cancel my withdrawal" or "stop the transfer I just made" names a transaction
  too, but the caller wants it stopped, not explained.
- Security: someone else in the account is the other emergency. "I was hacked and someone
  made a transfer" or "a payment I don't recognise" must not land in transaction problems,
  nor "someone changed my password" in the password reset.
- Password: "my reset code didn't arrive" is a login problem, not a transaction's.
- Transaction problems: money late, missing or failed; and in the transaction menu a failure
  before a delay ("it failed and never arrived" is answered by why it failed), any other
  problem last.
- When no agent can take the call: a callback, then a voice message, then the other
  channels; chat and email (the main menu's 9) come after every problem too.
- The main menu, then repeating the options: words such as "again" or "back" turn up in any
  sentence, so they count only when nothing else was said.

A phrase inside a longer phrase of another choice does not count (see
`ivr.engine.phrases.best_match`): "change my password" is not "change", "still pending" is a
slow transaction. That keeps the order from overruling a caller's more specific words.
"""

# Twilio's limit for <Gather hints>: a comma-separated list of at most 500 entries, each of
# at most 100 characters (Twilio error 13330, "Gather: Invalid hints value",
# https://www.twilio.com/docs/api/errors/13330).
MAX_HINTS = 500
MAX_HINT_CHARS = 100


def choose(speaker: Speaker, options: tuple[Option, ...], heard: Heard) -> str | None:
    if heard.digits:
        by_key = {option.key: option.choice for option in options}
        return by_key.get(heard.digits) or UNIVERSAL_KEYS.get(heard.digits)
    if heard.speech:
        # Asking for a person wins over any topic said in the same breath; then SPEECH_PRIORITY.
        return best_match(heard.speech, speech_words(speaker, options), first=SPEECH_PRIORITY)
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
    hints = gather_hints(speech_words(speaker, options).values())
    ask = Ask(tuple(lines), state.link(MENU), speech_language=speaker.recognition, hints=hints)
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
