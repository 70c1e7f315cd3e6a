"""Readers for the verbs that steer a call: Redirect, Hangup, Reject, Leave, Enqueue, Dial."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ivr.emulator.attributes import AttributeReader, resolve, start_tag, url_problem
from ivr.emulator.errors import Finding, Problem
from ivr.emulator.readers import Where, fatal_child
from ivr.emulator.verbs import Dial, DialNoun, Enqueue, Hangup, Leave, Redirect, Reject

QUEUE_NAME_LIMIT = 64
NO_CHILDREN: frozenset[str] = frozenset()


def read_redirect(element: ET.Element, where: Where) -> Redirect:
    """<Redirect>: the next document's URL and method."""
    attrs = AttributeReader(element, frozenset({"method"}))
    method = attrs.method("method", Problem.REDIRECT_METHOD)
    body = (element.text or "").strip()
    return Redirect(
        element=attrs.tag,
        warnings=tuple(attrs.warnings),
        fatal=fatal_child(element, NO_CHILDREN),
        url=resolve(where.base, body) if body else None,
        method=method,
    )


def read_hangup(element: ET.Element, where: Where) -> Hangup:
    """<Hangup/>."""
    attrs = AttributeReader(element, frozenset())
    fatal = fatal_child(element, NO_CHILDREN)
    return Hangup(element=attrs.tag, warnings=tuple(attrs.warnings), fatal=fatal)


def read_leave(element: ET.Element, where: Where) -> Leave:
    """<Leave/>."""
    attrs = AttributeReader(element, frozenset())
    fatal = fatal_child(element, NO_CHILDREN)
    return Leave(element=attrs.tag, warnings=tuple(attrs.warnings), fatal=fatal)


def read_reject(element: ET.Element, where: Where) -> Reject:
    """<Reject>: busy or rejected."""
    attrs = AttributeReader(element, frozenset({"reason"}))
    reasons = frozenset({"rejected", "busy"})
    reason = attrs.choice("reason", "rejected", reasons, Problem.INVALID_ATTRIBUTE_VALUE)
    fatal = fatal_child(element, NO_CHILDREN)
    return Reject(element=attrs.tag, warnings=tuple(attrs.warnings), fatal=fatal, reason=reason)


def read_enqueue(element: ET.Element, where: Where) -> Enqueue:
    """<Enqueue>: the queue, the wait document and the action."""
    known = frozenset("action method waitUrl waitUrlMethod workflowSid maxQueueSize".split())
    attrs = AttributeReader(element, known)
    name = (element.text or "").strip()
    wait_url = attrs.text("waitUrl")
    resolved = resolve(where.base, wait_url) if wait_url else wait_url
    return Enqueue(
        element=attrs.tag,
        name=name,
        action=attrs.url("action", where.base),
        method=attrs.method("method"),
        wait_url=resolved,
        wait_url_method=(attrs.text("waitUrlMethod") or "POST").upper(),
        warnings=tuple(attrs.warnings),
        fatal=_enqueue_fatal(element, attrs, name, resolved),
    )


def _enqueue_fatal(
    element: ET.Element, attrs: AttributeReader, name: str, wait_url: str | None
) -> Finding | None:
    def finding(problem: Problem, message: str) -> Finding:
        return Finding(problem, message, attrs.tag)

    if attrs.text("workflowSid") is not None:
        return finding(Problem.UNSUPPORTED_TWIML, "TaskRouter (workflowSid) is not simulated")
    if not name:
        return finding(Problem.QUEUE_NAME_EMPTY, "the queue name is empty")
    if len(name) > QUEUE_NAME_LIMIT:
        message = f"the queue name has {len(name)} characters; at most {QUEUE_NAME_LIMIT}"
        return finding(Problem.QUEUE_NAME_TOO_LONG, message)
    if wait_url and (problem := url_problem(wait_url)):
        return finding(Problem.ENQUEUE_WAIT_URL, problem)
    method = attrs.text("waitUrlMethod")
    if method is not None and method.upper() not in ("GET", "POST"):
        return finding(Problem.ENQUEUE_WAIT_URL_METHOD, f"waitUrlMethod={method!r}: GET or POST")
    return fatal_child(element, NO_CHILDREN)


_DIAL_ATTRIBUTES = frozenset(
    "action method timeout timeLimit callerId record trim recordingStatusCallback"
    " recordingStatusCallbackMethod recordingStatusCallbackEvent recordingTrack hangupOnStar"
    " answerOnBridge ringTone callReason sequential referUrl referMethod"
    " recordingConfigurationId events".split()
)
_NOUN_ATTRIBUTES = {
    "Number": frozenset(
        "sendDigits url method statusCallback statusCallbackEvent statusCallbackMethod byoc"
        " machineDetection machineDetectionTimeout amdStatusCallback amdStatusCallbackMethod"
        " machineDetectionSpeechThreshold machineDetectionSpeechEndThreshold"
        " machineDetectionSilenceTimeout".split()
    ),
    "Client": frozenset(
        "url method statusCallback statusCallbackEvent statusCallbackMethod".split()
    ),
    "Queue": frozenset("url method reservationSid postWorkActivitySid".split()),
}
_UNSIMULATED_NOUNS = frozenset({"Sip", "Conference", "Application", "WhatsApp"})


def read_dial(element: ET.Element, where: Where) -> Dial:
    """<Dial>: its nouns (a bare number counts as <Number>) and limits."""
    attrs = AttributeReader(element, _DIAL_ATTRIBUTES)
    warnings = attrs.warnings
    nouns: list[DialNoun] = []
    fatal: Finding | None = None
    if text := (element.text or "").strip():
        nouns.append(DialNoun(kind="number", target=text))
    for child in element:
        noun, problem = _read_noun(child, where, warnings)
        fatal = fatal or problem
        if noun is not None:
            nouns.append(noun)
    if not nouns and fatal is None:
        fatal = Finding(Problem.WRONG_NESTING, "<Dial> has nothing to dial", attrs.tag)
    return Dial(
        element=attrs.tag,
        nouns=tuple(nouns),
        action=attrs.url("action", where.base),
        method=attrs.method("method"),
        timeout=attrs.integer("timeout", 30, Problem.DIAL_TIMEOUT, maximum=600),
        time_limit=attrs.integer("timeLimit", 14400, Problem.INVALID_ATTRIBUTE_VALUE),
        hangup_on_star=attrs.boolean("hangupOnStar", False),
        warnings=tuple(warnings),
        fatal=fatal,
    )


def _read_noun(
    element: ET.Element, where: Where, warnings: list[Finding]
) -> tuple[DialNoun | None, Finding | None]:
    tag = start_tag(element)
    if element.tag in _UNSIMULATED_NOUNS:
        message = f"<Dial><{element.tag}> is valid TwiML that the emulator does not simulate"
        return None, Finding(Problem.UNSUPPORTED_TWIML, message, tag)
    if element.tag not in _NOUN_ATTRIBUTES:
        allowed = ", ".join(sorted(_NOUN_ATTRIBUTES) + sorted(_UNSIMULATED_NOUNS))
        message = f"<{element.tag}> in <Dial>; allowed: {allowed}"
        return None, Finding(Problem.WRONG_NESTING, message, tag)
    attrs = AttributeReader(element, _NOUN_ATTRIBUTES[element.tag])
    warnings.extend(attrs.warnings)
    target = " ".join("".join(element.itertext()).split())
    noun = DialNoun(
        kind=element.tag.lower(),
        target=target,
        url=attrs.url("url", where.base),
        method=attrs.method("method"),
    )
    allowed_children = frozenset({"Identity", "Parameter"}) if element.tag == "Client" else None
    problem = fatal_child(element, allowed_children or NO_CHILDREN)
    if element.tag == "Queue":
        problem = problem or _queue_name_problem(target, tag)
    return noun, problem


def _queue_name_problem(name: str, tag: str) -> Finding | None:
    if not name:
        return Finding(Problem.DIAL_QUEUE_NAME_EMPTY, "the queue name is empty", tag)
    if len(name) > QUEUE_NAME_LIMIT:
        message = f"the queue name has {len(name)} characters; at most {QUEUE_NAME_LIMIT}"
        return Finding(Problem.DIAL_QUEUE_NAME_TOO_LONG, message, tag)
    return None
