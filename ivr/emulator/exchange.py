"""The switch's shared state and services: calls, queues, endpoints, recordings, messages, ids,
limits.

Plain objects on purpose: the REST layer (`rest.py`: Calls, Queues, Messages, Recordings) reads
and changes the same ones, from the HTTP server's thread.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.emulator.call import Call
from ivr.emulator.callbacks import StatusCallback
from ivr.emulator.clock import VirtualClock
from ivr.emulator.events import Event, Prompt
from ivr.emulator.queues import Queues
from ivr.emulator.scheduler import Scheduler
from ivr.emulator.transport import Transport

RECORDINGS_HOST = "https://api.twilio.local"
Endpoint = float | str
"""What a dialled number or client does: talk for that many seconds, or "busy"."""


@dataclass(frozen=True)
class Limits:
    """Safety limits so a broken TwiML app cannot hang a test, and simulation constants."""

    max_call_seconds: float = 4 * 3600  # Twilio's own default maximum call length
    max_documents: int = 500
    play_seconds: float = 10.0  # assumed length of <Play> audio not served by the app (or not WAV)
    ring_seconds: float = 5.0  # an answering endpoint picks up after this much ringing
    # A call update asked through the REST API takes effect this long after it was answered
    # (Twilio applies it asynchronously; 0: at that instant).
    update_seconds: float = 0.0


@dataclass(frozen=True)
class Recording:
    sid: str
    call_sid: str
    account_sid: str
    duration: int
    created_at: datetime

    @property
    def url(self) -> str:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/{self.sid}"
        return RECORDINGS_HOST + path


@dataclass(frozen=True)
class Message:
    """A text message sent through the REST API (Messages.json); the emulator only keeps it."""

    sid: str
    to: str
    from_: str
    body: str
    sent_at: datetime


@dataclass(eq=False)
class Exchange:
    """Everything calls share; one per Switch."""

    clock: VirtualClock
    transport: Transport
    public_url: str
    status_url: str | None
    account_sid: str
    rng: random.Random
    limits: Limits = field(default_factory=Limits)
    ask: Callable[[Prompt], str] | None = None
    on_event: Callable[[Event], None] | None = None
    calls: dict[str, Call] = field(default_factory=dict)
    # How long the audio at each <Play> URL lasts, once fetched (the app's own media only).
    media_seconds: dict[str, float] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    recordings: list[Recording] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self.clock)
        self.queues = Queues(self.new_sid, self.clock.now)
        # The REST server's thread draws ids too (calls, messages): one draw at a time.
        self._sid_lock = threading.Lock()

    @property
    def inbound_callback(self) -> StatusCallback | None:
        """Where calls placed on the switch report their end: its status URL, if any."""
        return None if self.status_url is None else StatusCallback(self.status_url)

    def new_sid(self, prefix: str) -> str:
        """A Twilio-style id: two letters and 32 lowercase hex digits, from the seeded RNG."""
        with self._sid_lock:
            return f"{prefix}{self.rng.getrandbits(128):032x}"

    def new_call(
        self,
        from_: str,
        to: str,
        talk: float | None = None,
        *,
        sid: str | None = None,
        direction: str = "inbound",
    ) -> Call:
        """A new call leg on the switch, starting now (`sid`: one the REST API already gave)."""
        call = Call(
            sid=sid or self.new_sid("CA"),
            from_=from_,
            to=to,
            started_at=self.clock.now(),
            direction=direction,
            talk=talk,
        )
        call._listener = self.on_event
        self.calls[call.sid] = call
        return call

    def new_recording(self, call: Call, duration: int) -> Recording:
        """Keep a recording of `call` (the emulator stores its length, not audio)."""
        recording = Recording(
            self.new_sid("RE"), call.sid, self.account_sid, duration, self.clock.now()
        )
        self.recordings.append(recording)
        return recording

    def resting(self, call: Call) -> bool:
        """True when `call` cannot move on by itself right now: it ended, waits for the
        driver's answer or for another call, or finished a round of its queue's wait music."""
        return call.ended or self.scheduler.is_settled(call)

    def settled(self, call: Call) -> bool:
        """Resting, or waiting in a queue: a queued caller only leaves when someone acts."""
        return call.queue is not None or self.resting(call)
