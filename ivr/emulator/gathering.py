"""<Gather> and <Record>: prompting, waiting for the caller's answer, and posting the result.

Answers come, in this order, from the call's `answers` queue, the switch's `ask` callable, or
the driver: with neither, the call parks (settled) until `press()`/`say()`/`silence()` or until
its timeout passes on the clock, which counts as silence.
"""

from __future__ import annotations

from ivr.emulator.answers import (
    Answer,
    Keys,
    Silence,
    Speech,
    gather_result,
    parse_answer,
    record_result,
)
from ivr.emulator.documents import Context
from ivr.emulator.errors import Problem, TwilioError
from ivr.emulator.events import GatherEvent, InputEvent, Prompt, RecordEvent, RecordingEvent
from ivr.emulator.flow import CallerHungUp, Goto
from ivr.emulator.scheduler import Wake
from ivr.emulator.timing import REPETITIONS_FOR_LOOP_ZERO
from ivr.emulator.verb_runner import VerbRunner
from ivr.emulator.verbs import Gather, Pause, Record

SPEECH_CONFIDENCE = "0.9"


async def gather(runner: VerbRunner, verb: Gather, context: Context) -> Goto | None:
    """Play the nested prompts, collect input, then post it or fall through to the next verb."""
    extra_silence = 0.0
    for prompt in verb.prompts:
        runner.checkpoint()
        runner.report(*prompt.warnings)
        if not isinstance(prompt, Pause) and prompt.loop == 0:
            # A prompt repeated "until hang-up" can be answered during its first round; the
            # other rounds are only heard by a caller who stays silent.
            await runner.play_prompt(prompt, loop=1)
            extra_silence += (REPETITIONS_FOR_LOOP_ZERO - 1) * runner.prompt_seconds(prompt)
        else:
            await runner.play_prompt(prompt)
    event = runner.emit(
        GatherEvent, verb.input, verb.num_digits, verb.finish_on_key, verb.timeout,
        verb.speech_timeout, verb.language, verb.hints, verb.action or "",
    )  # fmt: skip
    answer, waited = await listen(runner, event, verb.timeout + extra_silence)
    result = gather_result(verb, answer)
    if not waited:
        await runner.elapse(result.seconds + (extra_silence if result.silent else 0.0))
    _emit_input(runner, answer, result.digits, result.speech, result.silent)
    if result.empty and not verb.action_on_empty_result:
        return None  # Twilio falls through to the next verb without a request
    if verb.action is None:
        message = "inline TwiML: <Gather> needs an absolute action URL"
        raise TwilioError(Problem.INVALID_URL, message, verb.element)
    params = {"Digits": result.digits} if result.digits is not None else {}
    if result.speech is not None:
        params = {"SpeechResult": result.speech, "Confidence": SPEECH_CONFIDENCE}
    return Goto(verb.action, verb.method, "action", params, verb.element)


def _emit_input(
    runner: VerbRunner, answer: Answer, digits: str | None, speech: str | None, silent: bool
) -> None:
    if isinstance(answer, Speech) and speech is not None:
        runner.emit(InputEvent, kind="speech", keys=None, digits=None, speech=speech)
    elif isinstance(answer, Keys) and not silent:
        runner.emit(InputEvent, kind="digits", keys=answer.keys, digits=digits, speech=None)
    else:
        runner.emit(InputEvent, kind="silence", keys=None, digits=None, speech=None)


async def record(runner: VerbRunner, verb: Record) -> Goto:
    """Record until a finish key, `timeout` seconds of silence or maxLength, then post it."""
    if verb.action is None:
        message = "inline TwiML: <Record> needs an absolute action URL"
        raise TwilioError(Problem.INVALID_URL, message, verb.element)
    event = runner.emit(
        RecordingEvent, verb.max_length, verb.timeout, verb.finish_on_key, verb.play_beep
    )
    started = runner.x.clock.now()
    try:
        answer, waited = await listen(runner, event, verb.timeout or verb.max_length)
        result = record_result(verb, answer)
        if not waited:
            await runner.elapse(result.seconds)
    except CallerHungUp:
        # Twilio still posts the recording, with Digits=hangup; the answer is ignored.
        seconds = (runner.x.clock.now() - started).total_seconds()
        await runner.notify(_recording_goto(runner, verb, seconds, "hangup"))
        raise
    # The action reports the length before trimming (silence that ended it included); the
    # kept recording loses that silence with trim-silence, Twilio's default.
    kept = result.trimmed if verb.trim else result.seconds
    return _recording_goto(runner, verb, result.seconds, result.digits, kept)


def _recording_goto(
    runner: VerbRunner,
    verb: Record,
    seconds: float,
    digits: str | None,
    kept: float | None = None,
) -> Goto:
    """The action request for a recording `seconds` long; `kept`: the length of the stored
    recording once trimmed (default: all of it)."""
    recording = runner.x.new_recording(runner.call, round(seconds if kept is None else kept))
    runner.emit(RecordEvent, duration=round(seconds), digits=digits, url=recording.url)
    params = {
        "RecordingUrl": recording.url,
        "RecordingSid": recording.sid,
        "RecordingDuration": str(round(seconds)),
    }
    if digits is not None:
        params["Digits"] = digits
    return Goto(verb.action, verb.method, "action", params, verb.element)


async def listen(runner: VerbRunner, prompt: Prompt, silence_seconds: float) -> tuple[Answer, bool]:
    """The caller's answer, and whether the silence timeout already passed on the clock."""
    call = runner.call
    if call.answers:
        answer = parse_answer(call.answers.popleft())
    elif runner.x.ask is not None:
        try:
            answer = parse_answer(runner.x.ask(prompt))
        except EOFError:
            runner.caller_hangs_up()
            raise CallerHungUp() from None
    elif call.silence_when_out_of_answers:
        answer = Silence()
    else:
        return await _park(runner, prompt, silence_seconds)
    call.start_turn()
    return answer, False


async def _park(runner: VerbRunner, prompt: Prompt, silence_seconds: float) -> tuple[Answer, bool]:
    call = runner.call
    call.prompt = prompt
    try:
        woken = await runner.wait(silence_seconds, settled=True)
    finally:
        call.prompt = None
    call.start_turn()
    if woken is Wake.TIMEOUT:
        return Silence(), True
    if not isinstance(woken, Keys | Speech | Silence):
        raise TypeError(f"a parked call was woken with {woken!r}")
    return woken, False
