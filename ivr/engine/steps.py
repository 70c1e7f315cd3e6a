"""What the menu engine decides a caller hears next, before it becomes TwiML.

A `Step` is a list of plain actions (say, pause, ask, enqueue...) plus the records the edge
must keep (`effects`). It holds no XML and no URLs with hosts: `ivr.web.twiml` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Webhook paths under the service root; the HTTP layer serves exactly these.
INCOMING = "/voice/incoming"
MENU = "/voice/menu"
QUEUE_WAIT = "/voice/queue/wait"
QUEUE_KEY = "/voice/queue/key"
QUEUE_RESULT = "/voice/queue/result"
QUEUE_CONNECT = "/voice/queue/connect"
STATUS = "/voice/status"
CALLBACK_BOOK = "/voice/callback/book"
CALLBACK_ANSWER = "/voice/callback/answer"
CALLBACK_KEY = "/voice/callback/key"
CALLBACK_STATUS = "/voice/callback/status"
RECORDING = "/voice/recording"
# The agent line: a number of its own, not published (see ivr.web.routes.agents).
AGENT = "/voice/agent"
AGENT_PIN = "/voice/agent/pin"
AGENT_KEY = "/voice/agent/key"
AGENT_DIALED = "/voice/agent/dialed"
AGENT_STATUS = "/voice/agent/status"
AGENT_OFFER = "/voice/agent/offer"  # a caller pushed to an idle agent (a Calls update)
SURVEY = "/voice/survey"  # the caller's rating after the agent hung up
SURVEY_COMMENT = "/voice/survey/comment"  # the caller's recorded comment


@dataclass(frozen=True)
class Link:
    """A webhook of ours and the state it carries in its query string."""

    path: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Say:
    text: str
    language: str  # canonical language id; picks the voice


@dataclass(frozen=True)
class Pause:
    seconds: int


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1


Prompt = Say | Pause | Play


@dataclass(frozen=True)
class Ask:
    """Collect keys and/or speech; with no input the call falls through to the next action."""

    prompts: tuple[Prompt, ...]
    then: Link
    input: Literal["dtmf", "speech", "dtmf speech"] = "dtmf speech"
    num_digits: int | None = 1
    # '' means no finish key, so '#' and '*' reach us as menu keys.
    finish_on_key: str = ""
    timeout: int = 5
    speech_language: str | None = None  # recognition tag
    hints: tuple[str, ...] = ()
    action_on_empty_result: bool = False  # post to `then` even with no input


@dataclass(frozen=True)
class Redirect:
    to: Link


@dataclass(frozen=True)
class Enqueue:
    queue: str
    wait: Link
    then: Link


@dataclass(frozen=True)
class Record:
    """Record a message after a beep; `then` receives the recording (nothing if it is empty,
    and the call goes on with the next action)."""

    then: Link
    max_seconds: int = 120
    finish_on_key: str = "#"
    timeout: int = 5  # seconds of silence that end the recording


@dataclass(frozen=True)
class DialQueue:
    """An agent takes the first caller of `queue`: the caller's leg hears `connect` first,
    then both are bridged; `then` learns how the Dial ended. `timeout`: seconds to wait when
    the queue is empty."""

    queue: str
    connect: Link
    then: Link
    timeout: int = 5


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    """Refuse the call before answering it (the caller hears busy; nothing is billed)."""


Action = (
    Say | Pause | Play | Ask | Redirect | Enqueue | Record | Leave | Hangup | Reject | DialQueue
)


@dataclass(frozen=True)
class QueueEntry:
    """Effect: the caller joins an agent queue; kept with the call for agents and reports."""

    queue: str
    region: str
    language: str
    reason: str
    reference: str | None = None


@dataclass(frozen=True)
class CallbackUpdate:
    """Effect: the person we called back chose to talk to an agent, or cancelled."""

    callback_id: int
    change: Literal["queued", "cancelled"]


Effect = QueueEntry | CallbackUpdate


@dataclass(frozen=True)
class Step:
    actions: tuple[Action, ...]
    effects: tuple[Effect, ...] = field(default=())

    def then(self, other: Step) -> Step:
        return Step(self.actions + other.actions, self.effects + other.effects)


def step(*actions: Action | list[Say] | list[Prompt], effects: tuple[Effect, ...] = ()) -> Step:
    """Build a Step; lists of prompts are flattened in place."""
    flat: list[Action] = []
    for action in actions:
        if isinstance(action, list):
            flat.extend(action)
        else:
            flat.append(action)
    return Step(tuple(flat), effects)
