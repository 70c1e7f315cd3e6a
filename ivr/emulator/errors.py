"""Every Twilio error or warning the emulator can raise, in one table.

Each row is a situation the emulator detects, the Twilio code for it, and what the emulator does:
`fail` ends the call with status `failed` (Twilio plays "an application error has occurred"),
`warn` records a warning event and the call goes on with the default value, as Twilio does.
`twilio_level` is the log level printed on Twilio's page for the code; every row was checked
against https://www.twilio.com/docs/api/errors/<code>. Rows without a code are the emulator's own
safety limits and simulation boundaries, not Twilio errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    FAIL = "fail"
    WARN = "warn"


@dataclass(frozen=True)
class ErrorRow:
    """One line of the table: a Twilio code, what happens, and its documentation page."""

    code: int | None
    outcome: Outcome
    twilio_level: str | None
    title: str

    @property
    def url(self) -> str | None:
        return None if self.code is None else f"https://www.twilio.com/docs/api/errors/{self.code}"


class Problem(StrEnum):
    """A situation the emulator recognises; `TABLE` maps each to its row."""

    INVALID_URL = "invalid-url"
    HTTP_ERROR_STATUS = "http-error-status"
    CONNECTION_FAILURE = "connection-failure"
    BODY_TOO_LARGE = "body-too-large"
    PARSE_FAILURE = "parse-failure"
    ROOT_NOT_RESPONSE = "root-not-response"
    UNKNOWN_VERB = "unknown-verb"
    WRONG_NESTING = "wrong-nesting"
    UNKNOWN_ATTRIBUTE = "unknown-attribute"
    INVALID_ATTRIBUTE_VALUE = "invalid-attribute-value"
    BAD_CONTENT_TYPE = "bad-content-type"
    DIAL_TIMEOUT = "dial-timeout"
    GATHER_FINISH_ON_KEY = "gather-finish-on-key"
    GATHER_METHOD = "gather-method"
    GATHER_TIMEOUT = "gather-timeout"
    GATHER_NUM_DIGITS = "gather-num-digits"
    GATHER_SAY_LOOP = "gather-say-loop"
    GATHER_SPEECH_TIMEOUT = "gather-speech-timeout"
    GATHER_LANGUAGE = "gather-language"
    PLAY_LOOP = "play-loop"
    SAY_LOOP = "say-loop"
    SAY_VOICE = "say-voice"
    SAY_EMPTY_TEXT = "say-empty-text"
    SAY_TOO_LONG = "say-too-long"
    RECORD_TIMEOUT = "record-timeout"
    RECORD_MAX_LENGTH = "record-max-length"
    RECORD_FINISH_ON_KEY = "record-finish-on-key"
    REDIRECT_METHOD = "redirect-method"
    PAUSE_LENGTH = "pause-length"
    ENQUEUE_WAIT_URL = "enqueue-wait-url"
    QUEUE_NAME_EMPTY = "queue-name-empty"
    QUEUE_NAME_TOO_LONG = "queue-name-too-long"
    ENQUEUE_WAIT_URL_METHOD = "enqueue-wait-url-method"
    QUEUE_FULL = "queue-full"
    DIAL_QUEUE_NAME_EMPTY = "dial-queue-name-empty"
    DIAL_QUEUE_NAME_TOO_LONG = "dial-queue-name-too-long"
    STATUS_CALLBACK_FAILED = "status-callback-failed"
    QUEUE_NOT_FOUND = "queue-not-found"
    WAIT_URL_FAILED = "wait-url-failed"
    UNSUPPORTED_TWIML = "unsupported-twiml"
    MAX_CALL_DURATION = "max-call-duration"
    MAX_DOCUMENTS = "max-documents"


FAIL, WARN = Outcome.FAIL, Outcome.WARN

TABLE: dict[Problem, ErrorRow] = {
    Problem.INVALID_URL: ErrorRow(11100, FAIL, "ERROR", "Invalid URL format"),
    # Twilio's page lists a 4xx/5xx answer first among the causes; newer pages also name 11217.
    Problem.HTTP_ERROR_STATUS: ErrorRow(11200, FAIL, "ERROR", "HTTP retrieval failure"),
    # Connect failure, or no complete answer within 15 s of real time.
    Problem.CONNECTION_FAILURE: ErrorRow(11205, FAIL, "ERROR", "HTTP connection failure"),
    Problem.BODY_TOO_LARGE: ErrorRow(11750, FAIL, "ERROR", "TwiML response body too large"),
    Problem.PARSE_FAILURE: ErrorRow(12100, FAIL, "ERROR", "Document parse failure"),
    Problem.ROOT_NOT_RESPONSE: ErrorRow(12102, FAIL, "ERROR", "The root element must be Response"),
    # Twilio's page calls 12200 a WARNING; the emulator fails the call anyway, because a verb
    # Twilio does not know (or finds where it cannot be) is never executed and the flow the
    # author meant is lost. A test should see that as loudly as a parse failure.
    Problem.UNKNOWN_VERB: ErrorRow(12200, FAIL, "WARNING", "Schema validation warning"),
    # Also a WARNING on Twilio's page; failed for the same reason (verb nested where Twilio
    # does not accept it, or a verb that a waitUrl / <Queue url> document may not contain).
    Problem.WRONG_NESTING: ErrorRow(12200, FAIL, "WARNING", "Schema validation warning"),
    Problem.UNKNOWN_ATTRIBUTE: ErrorRow(12200, WARN, "WARNING", "Schema validation warning"),
    # Enumerated values (Reject reason, Gather input, methods...) without a dedicated code.
    Problem.INVALID_ATTRIBUTE_VALUE: ErrorRow(12200, WARN, "WARNING", "Schema validation warning"),
    Problem.BAD_CONTENT_TYPE: ErrorRow(12300, FAIL, "ERROR", "Invalid Content-Type"),
    Problem.DIAL_TIMEOUT: ErrorRow(13212, WARN, "WARNING", "Dial: Invalid timeout value"),
    Problem.GATHER_FINISH_ON_KEY: ErrorRow(
        13310, WARN, "WARNING", "Gather: Invalid finishOnKey value"
    ),
    Problem.GATHER_METHOD: ErrorRow(13312, WARN, "WARNING", "Gather: Invalid method value"),
    Problem.GATHER_TIMEOUT: ErrorRow(13313, WARN, "WARNING", "Gather: Invalid timeout value"),
    Problem.GATHER_NUM_DIGITS: ErrorRow(13314, WARN, "WARNING", "Gather: Invalid numDigits value"),
    Problem.GATHER_SAY_LOOP: ErrorRow(13322, WARN, "WARNING", "Gather->Say: Invalid loop value"),
    Problem.GATHER_SPEECH_TIMEOUT: ErrorRow(
        13327, WARN, "WARNING", "Gather: Invalid speechTimeout value"
    ),
    Problem.GATHER_LANGUAGE: ErrorRow(
        13512, WARN, "WARNING", 'Gather element has an invalid "language" attribute value'
    ),
    Problem.PLAY_LOOP: ErrorRow(13410, WARN, "WARNING", "Play: Invalid loop value"),
    Problem.SAY_LOOP: ErrorRow(13510, WARN, "WARNING", "Say: Invalid loop value"),
    # Twilio has no code for a voice that does not speak the <Say language>; its Say page only
    # says the pair "may result in error". The emulator reports that under 13511 too.
    Problem.SAY_VOICE: ErrorRow(13511, WARN, "WARNING", "Say: Invalid voice value"),
    Problem.SAY_EMPTY_TEXT: ErrorRow(13520, WARN, "WARNING", "Say: Invalid text"),
    Problem.SAY_TOO_LONG: ErrorRow(
        13521, WARN, "WARNING", "<Say> element character limits exceeded"
    ),
    Problem.RECORD_TIMEOUT: ErrorRow(13611, WARN, "WARNING", "Record: Invalid timeout value"),
    Problem.RECORD_MAX_LENGTH: ErrorRow(13612, WARN, "WARNING", "Record: Invalid maxLength value"),
    Problem.RECORD_FINISH_ON_KEY: ErrorRow(
        13613, WARN, "WARNING", "Record: Invalid finishOnKey value"
    ),
    Problem.REDIRECT_METHOD: ErrorRow(13710, WARN, "WARNING", "Redirect: Invalid method value"),
    Problem.PAUSE_LENGTH: ErrorRow(13910, WARN, "WARNING", "Pause: Invalid length value"),
    Problem.ENQUEUE_WAIT_URL: ErrorRow(14202, FAIL, "ERROR", "Enqueue: Invalid waitUrl"),
    Problem.QUEUE_NAME_EMPTY: ErrorRow(14204, FAIL, "ERROR", "Enqueue: Queue name too short"),
    Problem.QUEUE_NAME_TOO_LONG: ErrorRow(14205, FAIL, "ERROR", "Enqueue: Queue name too long"),
    Problem.ENQUEUE_WAIT_URL_METHOD: ErrorRow(
        14206, FAIL, "ERROR", "Enqueue: Invalid waitUrlMethod value"
    ),
    # The call is not failed: <Enqueue> ends with QueueResult=queue-full.
    Problem.QUEUE_FULL: ErrorRow(
        14207, WARN, "WARNING", "Enqueue: The targeted queue reached max queue size"
    ),
    Problem.DIAL_QUEUE_NAME_EMPTY: ErrorRow(
        14212, FAIL, "ERROR", "Dial->Queue: queue name too short"
    ),
    Problem.DIAL_QUEUE_NAME_TOO_LONG: ErrorRow(
        14213, FAIL, "ERROR", "Dial->Queue: queue name too long"
    ),
    # The status callback's answer never affects the call.
    Problem.STATUS_CALLBACK_FAILED: ErrorRow(
        15003, WARN, "WARNING", "Call Progress: Warning Response to Callback URL"
    ),
    # The <Queue> page: "If the queue does not exist, Dial will post an error status to its
    # action URL" -- DialCallStatus=failed; no code is documented for it.
    Problem.QUEUE_NOT_FOUND: ErrorRow(None, WARN, None, "Dial->Queue: queue does not exist"),
    # The <Enqueue> page: a bad waitUrl document ends the wait with QueueResult=error.
    Problem.WAIT_URL_FAILED: ErrorRow(None, WARN, None, "Enqueue: waitUrl document failed"),
    Problem.UNSUPPORTED_TWIML: ErrorRow(None, FAIL, None, "Valid TwiML the emulator cannot run"),
    Problem.MAX_CALL_DURATION: ErrorRow(None, FAIL, None, "Emulator limit: call duration"),
    Problem.MAX_DOCUMENTS: ErrorRow(None, FAIL, None, "Emulator limit: documents per call"),
}


@dataclass(frozen=True)
class Finding:
    """A problem found on a call: the situation, what exactly was wrong, and where."""

    problem: Problem
    message: str
    element: str | None = None

    @property
    def row(self) -> ErrorRow:
        return TABLE[self.problem]


class TwilioError(Exception):
    """Raised inside a call for a `fail` row: the call ends with status `failed`."""

    def __init__(self, problem: Problem, message: str, element: str | None = None) -> None:
        super().__init__(f"{TABLE[problem].code or 'emulator'}: {message}")
        self.finding = Finding(problem, message, element)
