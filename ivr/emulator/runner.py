"""Runs one call's TwiML: fetches documents, executes verbs in order, records what happens.

Gather/Record live in `gathering.py`, queues in `queueing.py`, Dial in `dialing.py`; this module
holds the document loop, the simple verbs and the call's lifecycle (answer, end, status callbacks,
new instructions from the REST API).
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import Any, Literal, TypeVar

from ivr.emulator import dialing, gathering, queueing
from ivr.emulator.attributes import url_problem
from ivr.emulator.call import Call
from ivr.emulator.callbacks import StatusCallback
from ivr.emulator.documents import Context, parse_twiml, read_response
from ivr.emulator.errors import Finding, Problem, TwilioError
from ivr.emulator.events import (
    ErrorEvent,
    Event,
    HangupEvent,
    PauseEvent,
    PlayEvent,
    RedirectEvent,
    RejectEvent,
    RequestEvent,
    SayEvent,
    StatusEvent,
    WarningEvent,
)
from ivr.emulator.exchange import Exchange
from ivr.emulator.flow import ApiHungUp, ApiRedirect, AppHungUp, CallerHungUp, Goto, Rejected
from ivr.emulator.params import standard_params
from ivr.emulator.readers import Where
from ivr.emulator.scheduler import Wake
from ivr.emulator.speech_time import speech_seconds
from ivr.emulator.timing import play_digits_seconds, repetitions
from ivr.emulator.transport import Fetched
from ivr.emulator.verbs import (
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Verb,
)

E = TypeVar("E", bound=Event)
_REJECT_STATUS = {"busy": "busy", "rejected": "no-answer"}


class CallRunner:
    """The TwiML interpreter for one call; `run()` is the call's whole life.

    `callback`: where the call reports its progress; "switch" (calls placed on the switch) means
    the switch's status URL, REST calls bring their own StatusCallback or None.
    """

    def __init__(
        self,
        exchange: Exchange,
        call: Call,
        first: Goto | str,
        *,
        callback: StatusCallback | None | Literal["switch"] = "switch",
    ) -> None:
        self.x = exchange
        self.call = call
        self.first = first
        self.callback = exchange.inbound_callback if callback == "switch" else callback
        self.deadline = call.started_at + timedelta(seconds=exchange.limits.max_call_seconds)
        self.documents = 0
        self.requests = 0
        self.callbacks_sent = 0
        self.hung_up = False

    # --- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        """The call's whole life, from the first request to the status callback."""
        status = "completed"
        try:
            await self.instructions(self.first)
            self.emit(HangupEvent, by="app")
        except (AppHungUp, CallerHungUp):
            pass
        except Rejected as rejected:
            status = "completed" if self.call.answered_at else _REJECT_STATUS[rejected.reason]
        except TwilioError as error:
            self.emit(ErrorEvent.from_finding, error.finding)
            status = "failed"
        await self.finish(status)

    async def instructions(self, first: Goto | str) -> None:
        """Run the call's instructions, and the new ones a REST update may give it instead."""
        while True:
            try:
                if isinstance(first, Goto):
                    await self.follow(first, Context.CALL)
                else:  # inline TwiML, like a TwiML Bin: relative URLs resolve on the public URL
                    verbs = parse_twiml(first, Where(None, self.x.public_url), Context.CALL)
                    await self.follow(await self.execute(verbs, Context.CALL), Context.CALL)
                return
            except ApiRedirect as redirect:
                first = redirect.target
                if isinstance(first, Goto):
                    self.emit(RedirectEvent, url=first.url or "", method=first.method)

    def mark_answered(self) -> None:
        """Twilio answers the call at the first verb that is not <Pause> or <Reject>."""
        if self.call.answered_at is None:
            self.call.answered_at = self.x.clock.now()
            self.call.status = "in-progress"

    async def finish(self, status: str) -> None:
        """End the call with a final status, post the status callback, record it."""
        now = self.x.clock.now()
        call = self.call
        call.queue, call.prompt = None, None
        call.status, call.ended_at, self.hung_up = status, now, True
        answered = call.answered_at
        duration = 0 if answered is None else round((now - answered).total_seconds())
        await self.progress("completed", status, {"CallDuration": str(duration)})
        self.emit(StatusEvent, status=status, duration=duration)

    async def progress(
        self, event: str, call_status: str, extra: dict[str, str] | None = None
    ) -> None:
        """Post a call progress `event` when the call's status callback asked for it; a failure
        is only a warning."""
        callback = self.callback
        if callback is None or event not in callback.events:
            return
        fields = {
            "CallStatus": call_status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.callbacks_sent),
            "Timestamp": format_datetime(self.x.clock.now()),
            **(extra or {}),
        }
        self.callbacks_sent += 1
        try:
            fetched = await self.send(callback.method, callback.url, "status-callback", fields)
        except TwilioError as error:
            message = f"status callback failed: {error.finding.message}"
            self.report(Finding(Problem.STATUS_CALLBACK_FAILED, message))
            return
        if not 200 <= fetched.status < 300:
            message = f"status callback answered HTTP {fetched.status}"
            self.report(Finding(Problem.STATUS_CALLBACK_FAILED, message))

    # --- events ------------------------------------------------------------------------------
    def emit(self, factory: Callable[..., E], *args: Any, **fields: Any) -> E:
        """Record an event of this call, stamped with the virtual time."""
        now = self.x.clock.now()
        t = (now - self.call.started_at).total_seconds()
        event = factory(t, now, self.call.sid, *args, **fields)
        self.call.record(event)
        return event

    def report(self, *findings: Finding) -> None:
        """Record warnings (the call goes on)."""
        for finding in findings:
            self.emit(WarningEvent.from_finding, finding)

    # --- time --------------------------------------------------------------------------------
    async def wait(self, seconds: float | None, settled: bool = False) -> object:
        """Let virtual time pass (see `Scheduler.wait`); enforces the call-length limit."""
        try:
            woken = await self.x.scheduler.wait(self.call, seconds, self.deadline, settled)
        except CallerHungUp as hang_up:
            self.caller_hangs_up(_by(hang_up))
            raise
        if woken is Wake.TIMEOUT and self.x.clock.now() >= self.deadline:
            limit = self.x.limits.max_call_seconds
            message = f"the call reached the maximum duration of {limit:g} virtual seconds"
            raise TwilioError(Problem.MAX_CALL_DURATION, message)
        return woken

    async def elapse(self, seconds: float) -> None:
        """Let `seconds` of the call's own time pass."""
        if seconds > 0:
            await self.wait(seconds)

    def checkpoint(self) -> None:
        """Deliver an interrupt that arrived while the call was busy."""
        try:
            self.x.scheduler.checkpoint(self.call)
        except CallerHungUp as hang_up:
            self.caller_hangs_up(_by(hang_up))
            raise

    def caller_hangs_up(self, by: str = "caller") -> None:
        """Note that the caller (or the switch, for a REST request) hung up, once."""
        if not self.hung_up:
            self.hung_up = True
            self.emit(HangupEvent, by=by)

    # --- documents ---------------------------------------------------------------------------
    async def follow(self, nav: Goto | None, context: Context) -> None:
        """Fetch and run documents until one runs out of verbs without handing control on."""
        while nav is not None:
            verbs = await self.fetch(nav, context)
            nav = await self.execute(verbs, context)

    async def fetch(self, nav: Goto, context: Context) -> tuple[Verb, ...]:
        """Request a document and read its verbs; HTTP failures fail the call."""
        self.documents += 1
        if self.documents > self.x.limits.max_documents:
            limit = self.x.limits.max_documents
            message = f"the call fetched more than {limit} documents (a loop in the app?)"
            raise TwilioError(Problem.MAX_DOCUMENTS, message)
        if nav.url is None:
            raise TwilioError(Problem.INVALID_URL, "no URL to request", nav.element)
        fetched = await self.send(nav.method, nav.url, nav.purpose, nav.params)
        self.checkpoint()
        if not 200 <= fetched.status < 300:
            message = f"{nav.method} {fetched.url} answered HTTP {fetched.status}"
            raise TwilioError(Problem.HTTP_ERROR_STATUS, message)
        return read_response(
            fetched.body, fetched.content_type, url=nav.url, base=nav.url, context=context
        )

    async def notify(self, nav: Goto) -> None:
        """Request an action URL after the caller hung up: Twilio ignores the answer."""
        if nav.url is None:
            return
        try:
            await self.send(nav.method, nav.url, nav.purpose, nav.params)
        except TwilioError:
            return  # the request event already shows what went wrong; the call is over

    async def send(self, method: str, url: str, purpose: str, extra: dict[str, str]) -> Fetched:
        """One request with the standard parameters plus `extra`, recorded as an event."""
        params = {**self.params(), **extra}
        self.requests += 1
        try:
            fetched = await self.x.transport.request(method, url, params)
        except TwilioError:
            self.emit(RequestEvent, purpose, method, url, None, None, None)
            raise
        document = fetched.body.decode("utf-8", "replace")
        self.emit(
            RequestEvent, purpose, method, fetched.url, fetched.status, fetched.content_type,
            document,
        )  # fmt: skip
        return fetched

    def params(self) -> dict[str, str]:
        """The standard parameters as they stand now (CallStatus follows the call)."""
        if self.call.ended:
            status = self.call.status
        elif self.hung_up:
            status = "completed"  # action requests made after the caller hung up
        else:
            # A REST call's callee answers before its first request; a call placed on the
            # switch is answered by its first verb, after that request.
            waiting = self.requests == 0 and self.call.answered_at is None
            status = "ringing" if waiting else "in-progress"
        return standard_params(
            call_sid=self.call.sid,
            account_sid=self.x.account_sid,
            from_=self.call.from_,
            to=self.call.to,
            call_status=status,
            direction=self.call.direction,
        )

    # --- verbs -------------------------------------------------------------------------------
    async def execute(self, verbs: tuple[Verb, ...], context: Context) -> Goto | None:
        """Run verbs in order; return where control goes next, or None if they ran out."""
        for verb in verbs:
            self.checkpoint()
            self.report(*verb.warnings)
            if verb.fatal is not None:
                raise TwilioError(verb.fatal.problem, verb.fatal.message, verb.fatal.element)
            if not isinstance(verb, Pause | Reject):
                self.mark_answered()
            nav = await self.run_verb(verb, context)
            if nav is not None:
                return nav
        return None

    async def run_verb(self, verb: Verb, context: Context) -> Goto | None:
        """Run one verb; returns where control goes next, if it moves."""
        match verb:
            case Say() | Play() | Pause():
                await self.play_prompt(verb)
            case Gather():
                return await gathering.gather(self, verb, context)
            case Record():
                return await gathering.record(self, verb)
            case Redirect():
                self.emit(RedirectEvent, url=verb.url or "", method=verb.method)
                return Goto(verb.url, verb.method, "redirect", element=verb.element)
            case Hangup():
                self.emit(HangupEvent, by="app")
                raise AppHungUp()
            case Reject():
                self.emit(RejectEvent, reason=verb.reason)
                raise Rejected(verb.reason)
            case Leave():
                queueing.leave(self, context)
            case Enqueue():
                return await queueing.enqueue(self, verb)
            case Dial():
                return await dialing.dial(self, verb)
        return None

    def prompt_seconds(self, verb: Say | Play | Pause) -> float:
        """How long one repetition of a prompt takes."""
        match verb:
            case Say():
                return speech_seconds(verb.text)
            case Play():
                if verb.digits:
                    return play_digits_seconds(verb.digits)
                return self.x.media_seconds.get(verb.url or "", self.x.limits.play_seconds)
            case Pause():
                return float(verb.length)

    async def play_prompt(self, verb: Say | Play | Pause, loop: int | None = None) -> None:
        """Say, play or pause; `loop` overrides the verb's repetitions on the clock."""
        match verb:
            case Say():
                if not verb.text:
                    return
                self.emit(SayEvent, verb.text, verb.voice, verb.language, verb.loop)
            case Play():
                self._check_play(verb)
                if verb.url and not verb.digits:
                    await self._learn_length(verb.url)
                self.emit(PlayEvent, url=verb.url, loop=verb.loop, digits=verb.digits)
            case Pause():
                self.emit(PauseEvent, seconds=verb.length)
        if isinstance(verb, Pause) or (isinstance(verb, Play) and verb.digits):
            times = 1
        else:
            times = repetitions(verb.loop) if loop is None else loop
        await self.elapse(self.prompt_seconds(verb) * times)

    async def _learn_length(self, url: str) -> None:
        """Fetch the app's own media once, as Twilio does, to play a WAV file for as long as
        it lasts; other audio is assumed to last `Limits.play_seconds`."""
        if url in self.x.media_seconds or not url.startswith(self.x.public_url):
            return
        seconds = self.x.limits.play_seconds
        fetched = await self.x.transport.request("GET", url, {})
        if fetched.status == 200 and (fetched.content_type or "").startswith("audio/"):
            try:
                with wave.open(io.BytesIO(fetched.body)) as clip:
                    seconds = clip.getnframes() / clip.getframerate()
            except (wave.Error, EOFError):
                pass  # MP3 and the like: the assumed length
        self.x.media_seconds[url] = seconds

    def _check_play(self, verb: Play) -> None:
        if verb.digits:
            return
        if verb.url is None:
            raise TwilioError(Problem.INVALID_URL, "<Play> has no URL", verb.element)
        if problem := url_problem(verb.url):
            raise TwilioError(Problem.INVALID_URL, problem, verb.element)


def _by(hang_up: CallerHungUp) -> str:
    return "switch" if isinstance(hang_up, ApiHungUp) else "caller"
