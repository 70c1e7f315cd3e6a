"""The local Twilio voice emulator: call the IVR exactly as Twilio would, offline.

    from ivr.emulator import Switch, VirtualClock

    clock = VirtualClock(start="2026-03-01T03:00+00:00")
    with Switch(app, clock=clock, auth_token="secret") as switch:
        call = switch.dial("+8613812345678", to="+864001234567")
        assert call.hears("...")
        call.press("1")

It also answers a subset of Twilio's REST API for the real twilio client: create, fetch, list
and update (end, cancel, redirect) Calls, list Queues, create Messages, delete Recordings.

    client = Client(switch.account_sid, "secret")
    client.api.base_url = switch.serve_rest()
    switch.callee("+819012345678", "answer")  # or "busy", "no-answer", "failed"
    sid = client.calls.create(to="+819012345678", from_=LINE, url=ANSWER_URL).sid
    switch.run()  # REST calls start at the switch's next drive
    assert switch.calls[sid].hears("...")

Modules: `switch` (the facade), `call` (a call and its controls), `events` (what happened, with
its JSON shape), `errors` (every Twilio code the emulator raises), `voices` (Twilio TTS voices),
`documents`/`readers`/`flow_readers`/`attributes` (TwiML in), `runner`/`gathering`/`queueing`/
`dialing` (TwiML run), `scheduler`/`clock` (virtual time), `speech_time`/`timing` (how long
speech, keys and audio take; `ivr check` times speech with it too), `transport`/`signing`/
`params` (HTTP as Twilio does it), `callbacks` (status callbacks), `console` (transcripts, JSON,
audio, terminal answers), `rest`/`rest_json`/`rest_server` (the REST API and its server),
`outbound` (calls placed through it, and the callees they ring).
"""

from ivr.emulator.answers import parse_answer
from ivr.emulator.call import Call, CallNotWaiting
from ivr.emulator.callbacks import StatusCallback
from ivr.emulator.clock import VirtualClock
from ivr.emulator.console import (
    AudioToolMissing,
    events_to_json,
    render_audio,
    render_transcript,
    terminal_ask,
)
from ivr.emulator.errors import TABLE, ErrorRow, Outcome, Problem
from ivr.emulator.events import Event, GatherEvent, Prompt, RecordingEvent
from ivr.emulator.exchange import Limits, Message, Recording
from ivr.emulator.outbound import Callee
from ivr.emulator.queues import Queue, QueueMember, QueueResult
from ivr.emulator.signing import sign_request
from ivr.emulator.switch import Switch

__all__ = [
    "TABLE",
    "AudioToolMissing",
    "Call",
    "CallNotWaiting",
    "Callee",
    "ErrorRow",
    "Event",
    "GatherEvent",
    "Limits",
    "Message",
    "Outcome",
    "Problem",
    "Prompt",
    "Queue",
    "QueueMember",
    "QueueResult",
    "Recording",
    "RecordingEvent",
    "StatusCallback",
    "Switch",
    "VirtualClock",
    "events_to_json",
    "parse_answer",
    "render_audio",
    "render_transcript",
    "sign_request",
    "terminal_ask",
]
