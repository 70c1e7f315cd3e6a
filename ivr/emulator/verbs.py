"""TwiML verbs as the emulator runs them: validated, defaults applied, URLs made absolute.

Each verb keeps the problems found while reading it: `warnings` are reported when the verb runs
and the defaults are used instead; `fatal` (unknown verb, wrong nesting, invalid queue name...)
fails the call when the verb is reached, so the caller still hears everything before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.emulator.errors import Finding


@dataclass(frozen=True, kw_only=True)
class Verb:
    """A verb as read: its start tag (for messages) and the problems found in it."""

    element: str
    warnings: tuple[Finding, ...] = ()
    fatal: Finding | None = None


@dataclass(frozen=True, kw_only=True)
class Say(Verb):
    text: str
    voice: str
    language: str
    loop: int


@dataclass(frozen=True, kw_only=True)
class Play(Verb):
    url: str | None
    loop: int
    digits: str | None


@dataclass(frozen=True, kw_only=True)
class Pause(Verb):
    length: int


Audible = Say | Play | Pause
"""What a <Gather> may nest: something the caller hears."""


@dataclass(frozen=True, kw_only=True)
class Gather(Verb):
    input: tuple[str, ...]
    action: str | None
    method: str
    timeout: int
    num_digits: int | None
    finish_on_key: str
    speech_timeout: str
    language: str
    hints: str | None
    action_on_empty_result: bool
    prompts: tuple[Audible, ...] = field(default=())


@dataclass(frozen=True, kw_only=True)
class Redirect(Verb):
    url: str | None
    method: str


@dataclass(frozen=True, kw_only=True)
class Hangup(Verb):
    pass


@dataclass(frozen=True, kw_only=True)
class Reject(Verb):
    reason: str


@dataclass(frozen=True, kw_only=True)
class Enqueue(Verb):
    name: str
    action: str | None
    method: str
    wait_url: str | None
    wait_url_method: str


@dataclass(frozen=True, kw_only=True)
class Leave(Verb):
    pass


@dataclass(frozen=True, kw_only=True)
class DialNoun:
    kind: str
    target: str
    url: str | None = None
    method: str = "POST"

    def describe(self) -> str:
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True, kw_only=True)
class Dial(Verb):
    nouns: tuple[DialNoun, ...]
    action: str | None
    method: str
    timeout: int
    time_limit: int
    hangup_on_star: bool = False  # the dialling side's * ends the talk, not their call


@dataclass(frozen=True, kw_only=True)
class Record(Verb):
    action: str | None
    method: str
    timeout: int
    max_length: int
    finish_on_key: str
    play_beep: bool
    trim: bool = True  # trim="trim-silence", Twilio's default: silence is cut from both ends


@dataclass(frozen=True, kw_only=True)
class Invalid(Verb):
    """An element Twilio would not run (unknown verb, wrong place): fails when reached."""
