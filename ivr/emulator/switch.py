"""The switch: places calls into the IVR exactly as Twilio would, offline, and lets a driver
(a test, the `ivr call` CLI, an operator) answer for the caller.

Synchronous on the outside: the calls run on an event loop the Switch owns, so plain pytest
functions can use it. `dial()`, `press()`, `say()`, `silence()` and `hangup()` run the whole
simulation until the call they concern *rests*: it ended, waits at a <Gather>/<Record> for an
answer nobody queued, waits for another call (an agent for a caller, a caller for an agent to
hang up), or -- waiting in a queue -- has heard one full round of its wait document.

`serve_rest()` also answers a subset of Twilio's REST API (`rest.py`) on a loopback port, for the
twilio client: calls it places start at the switch's next drive (`outbound.py`), and whoever they
call behaves as `callee()` set (answering, by default).

`configure_number()` gives one number a voice URL and status callback of its own, as a second
Twilio number of the account would have (an agent line).

The voice and status URLs are paths under the public URL, or full URLs of their own: a number
of any TwiML app, at any path, is called as Twilio calls it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

import httpx
from starlette.types import ASGIApp

from ivr.emulator.answers import parse_answer
from ivr.emulator.call import Call, CallNotWaiting
from ivr.emulator.callbacks import StatusCallback
from ivr.emulator.clock import VirtualClock, as_utc
from ivr.emulator.events import Event, Prompt
from ivr.emulator.exchange import Endpoint, Exchange, Limits, Message, Recording
from ivr.emulator.flow import CallerHungUp, Goto, Keyed
from ivr.emulator.outbound import Callee, Outbox
from ivr.emulator.queues import Queue, Queues
from ivr.emulator.rest import RestApi
from ivr.emulator.rest_server import RestServer
from ivr.emulator.runner import CallRunner
from ivr.emulator.transport import TWILIO_TIME_LIMIT_SECONDS, OnLoopback, Transport

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_TO = "+15005550006"
T = TypeVar("T")


@dataclass(frozen=True)
class NumberSettings:
    """A Twilio number's own voice URL and status callback URL (a second line of the account,
    such as an agent line), used instead of the switch's for calls to that number."""

    voice_url: str
    voice_method: str = "POST"
    status_url: str | None = None


class Switch:
    """A local Twilio voice switch in front of one IVR app (ASGI app or base URL).

    `voice_path` (requested with `voice_method`) and `status_path` (None: no status callback)
    are paths under `public_url`, or full URLs taken as they are.
    """

    def __init__(
        self,
        app_or_base_url: ASGIApp | str,
        *,
        clock: VirtualClock | None = None,
        auth_token: str | None = None,
        public_url: str = "http://ivr.test",
        voice_path: str = "/voice/incoming",
        voice_method: str = "POST",
        status_path: str | None = "/voice/status",
        seed: int = 0,
        account_sid: str | None = None,
        request_timeout: float = TWILIO_TIME_LIMIT_SECONDS,
        limits: Limits | None = None,
        ask: Callable[[Prompt], str] | None = None,
        on_event: Callable[[Event], None] | None = None,
        home_line: Callable[[str], str] | None = None,
    ) -> None:
        self._loop = asyncio.Runner()
        # The number a caller dials when a test or command gives none (e.g. their region's line).
        self.home_line = home_line or (lambda _caller: DEFAULT_TO)
        self._closed = False
        self.clock = clock or VirtualClock(DEFAULT_START)
        self.public_url = public_url.rstrip("/")
        self.voice_url = _under(self.public_url, voice_path)
        self.voice_method = voice_method
        rng = random.Random(seed)
        # Signs webhooks and, as Twilio's auth token does, guards the REST API.
        self.auth_token = auth_token
        self._client, target = _client(app_or_base_url)
        transport = Transport(
            self._client,
            public_url=self.public_url,
            target_url=target,
            auth_token=auth_token,
            time_limit=request_timeout,
        )
        self._exchange = Exchange(
            clock=self.clock,
            transport=transport,
            public_url=self.public_url,
            status_url=None if status_path is None else _under(self.public_url, status_path),
            account_sid=account_sid or f"AC{rng.getrandbits(128):032x}",
            rng=rng,
            limits=limits or Limits(),
            ask=ask,
            on_event=on_event,
        )
        # Whoever a REST call rings, by number; a number not listed answers.
        self.callees: dict[str, Callee] = {}
        # Numbers configured with URLs of their own (`configure_number`).
        self.numbers: dict[str, NumberSettings] = {}
        self._outbox = Outbox(self._exchange)
        self._exchange.scheduler.between_steps = lambda: self._outbox.deliver(self.callees, self)
        self._rest: RestServer | None = None

    # --- state -------------------------------------------------------------------------------
    @property
    def calls(self) -> dict[str, Call]:
        """Every call placed on the switch, by CallSid, in the order they started."""
        return self._exchange.calls

    @property
    def queues(self) -> Queues:
        """Every queue by name: members in order, with their enqueue time."""
        return self._exchange.queues

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Numbers/clients that answer a <Dial>: seconds they talk, or "busy"."""
        return self._exchange.endpoints

    @property
    def recordings(self) -> list[Recording]:
        return self._exchange.recordings

    @property
    def messages(self) -> list[Message]:
        """Text messages sent through the REST API (Messages.json), in order."""
        return self._exchange.messages

    @property
    def account_sid(self) -> str:
        return self._exchange.account_sid

    @property
    def limits(self) -> Limits:
        return self._exchange.limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """New simulation constants from now on (e.g. a slower REST API for one test)."""
        self._exchange.limits = limits

    def outbound_calls(self) -> list[Call]:
        """The calls placed through the REST API that have started, in the order they did."""
        return [call for call in self.calls.values() if call.direction == "outbound-api"]

    def last_call_to(self, number: str) -> Call:
        """The latest started call to `number` (placed on the switch or through the API)."""
        calls = [call for call in self.calls.values() if call.to == number]
        if not calls:
            raise LookupError(f"no call to {number} has started (REST calls start at a drive)")
        return calls[-1]

    def set_queue_max_size(self, name: str, max_size: int) -> Queue:
        """Create queue `name` if needed and limit it to `max_size` calls (Twilio: 1-5000)."""
        return self._exchange.queues.set_max_size(name, max_size)

    # --- the REST API ------------------------------------------------------------------------
    def serve_rest(self) -> str:
        """Serve the REST API on a free loopback port (once) and return its base URL, for
        `client.api.base_url`. Clients authenticate with the account sid and the auth token,
        so a switch without an auth token cannot serve it."""
        if self._closed:
            raise RuntimeError("this switch is closed")
        if self.auth_token is None:
            raise RuntimeError(
                "the REST API needs credentials: create the Switch with an auth_token"
            )
        if self._rest is None:
            api = RestApi(self._exchange, self._outbox, self.auth_token)
            self._rest = RestServer(api.asgi())
        return self._rest.url

    @property
    def rest_url(self) -> str:
        """The REST API's base URL (see `serve_rest`)."""
        if self._rest is None:
            raise RuntimeError("the REST API is not served: call serve_rest() first")
        return self._rest.url

    def callee(
        self,
        number: str,
        behaviour: str = "answer",
        *,
        answers: Iterable[str] = (),
        talk: float | None = None,
    ) -> Callee:
        """Set what `number` does when a REST call rings it: "answer" (after
        `Limits.ring_seconds`), "busy", "no-answer" (rings for the call's Timeout) or "failed".
        `answers` go to its Gathers and Records; `talk`: seconds it talks once bridged."""
        callee = Callee(behaviour, tuple(answers), talk)
        self.callees[number] = callee
        return callee

    def configure_number(
        self, number: str, voice_path: str, status_path: str | None = None, method: str = "POST"
    ) -> NumberSettings:
        """Give `number` a voice URL and status callback of its own (paths under the public
        URL, or full URLs), as a Twilio number configured apart from the others."""
        status_url = None if status_path is None else _under(self.public_url, status_path)
        settings = NumberSettings(_under(self.public_url, voice_path), method, status_url)
        self.numbers[number] = settings
        return settings

    # --- placing calls -----------------------------------------------------------------------
    def dial(
        self,
        from_: str,
        to: str | None = None,
        *,
        at: datetime | str | None = None,
        answers: Iterable[str] = (),
        run_to_end: bool = False,
        talk: float | None = None,
        incoming: Mapping[str, str] | None = None,
    ) -> Call:
        """Call the IVR's voice URL from `from_` to `to` (default: `home_line(from_)`), at `at`
        (ISO 8601 with offset).

        Runs until the call rests (see the module docstring): typically it waits at a Gather
        for an answer `answers` cannot give, or ends. With `run_to_end`, missing answers are
        silence and it runs until the call ends. `talk`: seconds the caller talks once bridged
        before hanging up (None: until the other side hangs up). `incoming`: parameters Twilio
        adds to the voice URL's request alone, what it knows as the call comes in (e.g.
        {"StirVerstat": "TN-Validation-Failed-A"}, the carrier's caller-ID verdict); no later
        request of the call carries them.
        """
        dialed = self.home_line(from_) if to is None else to
        number = self.numbers.get(dialed)
        extra = dict(incoming or {})
        if number is None:
            first = Goto(self.voice_url, self.voice_method, "voice", extra)
            return self._sync(self._place(first, from_, dialed, at, answers, run_to_end, talk))
        first = Goto(number.voice_url, number.voice_method, "voice", extra)
        callback = None if number.status_url is None else StatusCallback(number.status_url)
        placing = self._place(first, from_, dialed, at, answers, run_to_end, talk, callback)
        return self._sync(placing)

    def dial_twiml(
        self,
        twiml: str,
        *,
        from_: str,
        to: str = DEFAULT_TO,
        at: datetime | str | None = None,
        answers: Iterable[str] = (),
        run_to_end: bool = False,
        talk: float | None = None,
    ) -> Call:
        """A call whose first document is inline TwiML (like a TwiML Bin), e.g. an agent
        taking a caller: relative URLs resolve against the public URL. `talk`: seconds this
        party talks once bridged before hanging up (None: until the other side hangs up)."""
        return self._sync(self._place(twiml, from_, to, at, answers, run_to_end, talk))

    def dial_twiml_later(
        self,
        after: float,
        twiml: str | Callable[[], str | None],
        *,
        from_: str,
        to: str = DEFAULT_TO,
        talk: float | None = None,
    ) -> None:
        """Place an inline-TwiML call `after` virtual seconds from now, while other calls run.

        `twiml` may be a function called at that moment (e.g. an agent dialing the queue a
        caller is waiting in); when it returns None, no call is placed. Missing answers of
        that call are silence. Nothing runs until the simulation is driven on.
        """
        if after < 0:
            raise ValueError(f"cannot place a call in the past ({after} s)")
        self._sync(self._schedule(self._later(after, twiml, from_, to, talk)))

    async def _schedule(self, body: Coroutine[Any, Any, None]) -> None:
        self._exchange.scheduler.spawn(body)  # tasks belong to the switch's own event loop

    async def _later(
        self,
        after: float,
        twiml: str | Callable[[], str | None],
        from_: str,
        to: str,
        talk: float | None,
    ) -> None:
        timer = object()
        when = self.clock.now() + timedelta(seconds=after)
        await self._exchange.scheduler.wait(timer, after, deadline=when)
        document = twiml() if callable(twiml) else twiml
        if document is None:
            return
        call = self._exchange.new_call(from_, to, talk)
        call._driver = self
        call.silence_when_out_of_answers = True
        self._exchange.scheduler.spawn(CallRunner(self._exchange, call, document).run())

    async def _place(
        self,
        first: Goto | str,
        from_: str,
        to: str,
        at: datetime | str | None,
        answers: Iterable[str],
        run_to_end: bool,
        talk: float | None,
        callback: StatusCallback | None | Literal["switch"] = "switch",
    ) -> Call:
        await self._move_clock(at)
        call = self._exchange.new_call(from_, to, talk)
        call._driver = self
        call.queue_answers(answers)
        call.silence_when_out_of_answers = run_to_end
        runner = CallRunner(self._exchange, call, first, callback=callback)
        self._exchange.scheduler.spawn(runner.run())
        if run_to_end:
            await self._exchange.scheduler.run(lambda: call.ended)
        else:
            await self._exchange.scheduler.run(lambda: self._exchange.resting(call))
        return call

    async def _move_clock(self, at: datetime | str | None) -> None:
        if at is None:
            return
        target = as_utc(at)
        if all(call.ended for call in self.calls.values()):
            self.clock.set(target)  # no call in progress: the switch may jump anywhere
            return
        if target < self.clock.now():
            raise ValueError(
                f"cannot go back to {target}: calls are in progress at {self.clock.now()}"
            )
        await self._exchange.scheduler.run(lambda: False, until=target)

    # --- driving -----------------------------------------------------------------------------
    def run(self, seconds: float | None = None) -> None:
        """Advance every call by `seconds` of virtual time, or (None) until each call has
        ended, waits for the driver or for another call, or waits in a queue."""
        self._sync(self._run(seconds))

    async def _run(self, seconds: float | None) -> None:
        if seconds is not None and seconds < 0:
            raise ValueError(f"cannot run for a negative time ({seconds} s)")
        scheduler = self._exchange.scheduler
        for call in self.calls.values():  # answers queued while the call was waiting
            if call.prompt is not None and call.answers and scheduler.is_blocked(call):
                scheduler.signal(call, parse_answer(call.answers.popleft()))
        if seconds is None:
            await scheduler.run(lambda: all(map(self._exchange.settled, self.calls.values())))
            return
        await scheduler.run(lambda: False, until=self.clock.now() + timedelta(seconds=seconds))

    def answer(self, call: Call, answer: str) -> None:
        """Answer the Gather/Record `call` waits at (see `Call.press`), then run on."""
        parsed = parse_answer(answer)
        scheduler = self._exchange.scheduler
        if call.ended:
            raise CallNotWaiting(f"{call.sid} has ended ({call.status}); it takes no answer")
        if call.prompt is None or not scheduler.is_blocked(call):
            where = f"in queue {call.queue!r}" if call.queue else "not at a <Gather> or <Record>"
            raise CallNotWaiting(f"{call.sid} is {where}; there is nothing to answer")
        scheduler.signal(call, parsed)
        self._sync(scheduler.run(lambda: self._exchange.resting(call)))

    def press_star(self, call: Call) -> None:
        """`call` presses * in a bridge of a <Dial hangupOnStar="true"> (see `Call.press_star`)."""
        scheduler = self._exchange.scheduler
        if call.ended or not call.star_ends_talk or not scheduler.is_blocked(call):
            raise CallNotWaiting(f'{call.sid} is not bridged by a <Dial hangupOnStar="true">')
        scheduler.signal(call, Keyed.STAR)
        self._sync(scheduler.run(lambda: self._exchange.resting(call)))

    def hang_up(self, call: Call) -> None:
        """The caller of `call` hangs up now (see `Call.hangup`)."""
        if call.ended:
            raise CallNotWaiting(f"{call.sid} has already ended ({call.status})")
        scheduler = self._exchange.scheduler
        scheduler.interrupt(call, CallerHungUp())
        self._sync(scheduler.run(lambda: self._exchange.resting(call)))

    # --- the event loop ------------------------------------------------------------------------
    def _sync(self, work: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            work.close()
            raise RuntimeError("this switch is closed")
        result = self._loop.run(self._drive(work))
        crash, self._exchange.scheduler.crash = self._exchange.scheduler.crash, None
        if crash is not None:
            raise crash
        return result

    async def _drive(self, work: Coroutine[Any, Any, T]) -> T:
        # What the REST API was asked since the last drive happens first, at this instant.
        self._outbox.deliver(self.callees, self)
        return await work

    def close(self) -> None:
        """Stop the REST server, close the HTTP client and stop the calls still running."""
        if self._closed:
            return
        self._closed = True
        if self._rest is not None:
            self._rest.stop()
        try:
            self._loop.run(self._client.aclose())
        finally:
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _under(public_url: str, path_or_url: str) -> str:
    """A path under the public URL, or a full URL (with its scheme) as it is."""
    return path_or_url if urlsplit(path_or_url).scheme else public_url + path_or_url


def _client(app_or_base_url: ASGIApp | str) -> tuple[httpx.AsyncClient, str | None]:
    """An HTTP client for the app: in-process over ASGI, or over the network to a base URL."""
    if isinstance(app_or_base_url, str):
        return httpx.AsyncClient(follow_redirects=True, timeout=None), app_or_base_url
    # An exception inside the app becomes a 500, as a real server would answer.
    app = OnLoopback(app_or_base_url)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, follow_redirects=True, timeout=None), None
