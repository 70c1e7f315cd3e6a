"""From an HTTP answer to the verbs Twilio would run: content type, XML parse, TwiML rules.

What Twilio rejects fails the call (`TwilioError`); what it only warns about is kept on the verb
(see `verbs.py`). Which verbs a document may hold depends on where it runs (`Context`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from enum import StrEnum

from ivr.emulator.attributes import start_tag
from ivr.emulator.errors import Finding, Problem, TwilioError
from ivr.emulator.flow_readers import (
    read_dial,
    read_enqueue,
    read_hangup,
    read_leave,
    read_redirect,
    read_reject,
)
from ivr.emulator.readers import Where, read_gather, read_pause, read_play, read_record, read_say
from ivr.emulator.verbs import Hangup, Invalid, Play, Say, Verb
from ivr.emulator.voices import DEFAULT_LANGUAGE, DEFAULT_VOICE

MAX_BODY_BYTES = 64 * 1024
TWIML_TYPES = frozenset({"text/xml", "application/xml", "text/html"})
# Audio a voice URL may answer with: Twilio plays it, then hangs up (<Play> page's list).
AUDIO_TYPES = frozenset(
    "audio/mpeg audio/wav audio/wave audio/x-wav audio/aiff audio/x-aifc audio/x-aiff"
    " audio/gsm audio/x-gsm audio/ulaw".split()
)


class Context(StrEnum):
    """Where a document runs, which decides the verbs it may contain."""

    CALL = "call"
    WAIT = "waitUrl"
    QUEUE_URL = "<Queue url>"


Reader = Callable[[ET.Element, Where], Verb]
_READERS: dict[str, Reader] = {
    "Say": read_say,
    "Play": read_play,
    "Pause": read_pause,
    "Gather": read_gather,
    "Record": read_record,
    "Redirect": read_redirect,
    "Hangup": read_hangup,
    "Reject": read_reject,
    "Enqueue": read_enqueue,
    "Leave": read_leave,
    "Dial": read_dial,
}
_UNSIMULATED_VERBS = frozenset("Connect Start Stop Pay Refer Sms Echo".split())
_NOUNS = frozenset(
    "Number Client Queue Sip Conference Application Task Stream Siprec Transcription Prompt"
    " Parameter Identity".split()
)
_ALLOWED: dict[Context, frozenset[str]] = {
    Context.CALL: frozenset(_READERS),
    # The <Enqueue> page: a waitUrl document may use only these verbs.
    Context.WAIT: frozenset("Play Say Pause Gather Redirect Leave Hangup".split()),
    # The <Queue> page: the url document runs on the dequeued caller's leg.
    Context.QUEUE_URL: frozenset("Play Say Pause Redirect".split()),
}


def read_response(
    body: bytes, content_type: str | None, *, url: str, base: str, context: Context
) -> tuple[Verb, ...]:
    """The verbs of a fetched document, by the rules of Twilio's "Your Response" page."""
    if len(body) > MAX_BODY_BYTES:
        raise TwilioError(Problem.BODY_TOO_LARGE, f"{len(body)} bytes; Twilio takes 64 kB")
    if not content_type:
        raise TwilioError(Problem.BAD_CONTENT_TYPE, "the response has no Content-Type")
    mime = content_type.split(";")[0].strip().lower()
    if mime in TWIML_TYPES:
        return parse_twiml(body, Where(url, base), context)
    if mime == "text/plain":
        # Twilio reads a text/plain answer out loud, then hangs up.
        text = " ".join(body.decode(_charset(content_type), "replace").split())
        say = Say(
            element="text/plain", text=text, voice=DEFAULT_VOICE, language=DEFAULT_LANGUAGE, loop=1
        )
        return (say, Hangup(element="text/plain"))
    if mime in AUDIO_TYPES:
        # An audio answer is played, then Twilio hangs up (a waitUrl loops it instead).
        hangup = () if context is Context.WAIT else (Hangup(element=mime),)
        return (Play(element=mime, url=url, loop=1, digits=None), *hangup)
    raise TwilioError(Problem.BAD_CONTENT_TYPE, f"Content-Type {mime!r} is neither TwiML nor audio")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def parse_twiml(document: bytes | str, where: Where, context: Context) -> tuple[Verb, ...]:
    """Parse a TwiML document into verbs; parse errors and a wrong root fail the call."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as error:
        line, column = error.position
        raise TwilioError(
            Problem.PARSE_FAILURE, f"line {line}, column {column + 1}: {error.msg}"
        ) from None
    if root.tag != "Response":
        raise TwilioError(
            Problem.ROOT_NOT_RESPONSE, f"the root element is <{root.tag}>", start_tag(root)
        )
    return tuple(_read_verb(child, where, context) for child in root)


def _read_verb(element: ET.Element, where: Where, context: Context) -> Verb:
    tag = start_tag(element)
    if element.tag in _UNSIMULATED_VERBS:
        message = f"<{element.tag}> is valid TwiML that the emulator does not simulate"
        return Invalid(element=tag, fatal=Finding(Problem.UNSUPPORTED_TWIML, message, tag))
    if element.tag in _NOUNS:
        message = f"<{element.tag}> is a noun; it cannot stand directly in <Response>"
        return Invalid(element=tag, fatal=Finding(Problem.WRONG_NESTING, message, tag))
    if element.tag not in _READERS:
        message = f"<{element.tag}> is not a TwiML verb (TwiML is case-sensitive)"
        return Invalid(element=tag, fatal=Finding(Problem.UNKNOWN_VERB, message, tag))
    if element.tag not in _ALLOWED[context]:
        allowed = ", ".join(sorted(_ALLOWED[context]))
        message = f"<{element.tag}> is not allowed in a {context} document; allowed: {allowed}"
        return Invalid(element=tag, fatal=Finding(Problem.WRONG_NESTING, message, tag))
    return _READERS[element.tag](element, where)
