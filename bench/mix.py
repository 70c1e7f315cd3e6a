"""The benchmark's traffic: whole calls as Twilio makes them, signed ahead of time.

Each call is a journey through the service (an incoming call, its language and menu keys,
spoken answers, a keyed reference, queue wait polls, the final status callback) from one of
several regions. Requests carry the parameters real Twilio webhooks carry (caller and called
geography, AccountSid, ApiVersion...), so form parsing and signature checks see realistic
bodies. Every request is signed over the public URL with `RequestValidator.compute_signature`,
exactly as Twilio signs it, so a service with TWILIO_AUTH_TOKEN and IVR_PUBLIC_URL set accepts
it. The calls of the mix overlap in time, as on a busy line.

Writes: incoming and menu webhooks record the call's step (an upsert), a menu choice that
reaches the queue records the queue entry, and the status callback upserts the final status;
queue wait polls only read (answer times, cached per queue).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

import phonenumbers
from phonenumbers import PhoneNumberType
from twilio.request_validator import RequestValidator

FORM = "application/x-www-form-urlencoded"
ACCOUNT_SID = "AC" + "b" * 32
INCOMING = "/voice/incoming"
MENU = "/voice/menu"
QUEUE_WAIT = "/voice/queue/wait"
STATUS = "/voice/status"
PATHS = (INCOMING, MENU, QUEUE_WAIT, STATUS)


@dataclass(frozen=True)
class Line:
    """A regional hotline of the sample regions.toml, and where its callers call from."""

    region: str
    hotline: str
    caller_country: str
    languages: tuple[str, ...]
    city: str


# Regions of the sample regions.toml: Asia, Europe, the Americas, and the global line.
LINES = (
    Line("cn", "+864001234567", "CN", ("zh-CN", "en-US"), "SHANGHAI"),
    Line("jp", "+81345678901", "JP", ("ja-JP", "en-US"), "TOKYO"),
    Line("kr", "+82234567890", "KR", ("ko-KR", "en-US"), "SEOUL"),
    Line("in", "+912240001234", "IN", ("en-IN", "hi-IN"), "MUMBAI"),
    Line("sg", "+6561234567", "SG", ("en-GB", "zh-CN"), "SINGAPORE"),
    Line("us", "+12025550142", "US", ("en-US", "es-MX"), "WASHINGTON"),
    Line("latam", "+525512345678", "MX", ("es-MX", "en-US"), "MEXICO CITY"),
    Line("br", "+551123456789", "BR", ("pt-BR", "en-US"), "SAO PAULO"),
    Line("gb", "+442079460123", "GB", ("en-GB",), "LONDON"),
    Line("dach", "+493012345678", "DE", ("de-DE", "en-GB"), "BERLIN"),
    Line("es", "+34911234567", "ES", ("es-ES", "en-GB"), "MADRID"),
    # A caller from a country no region serves, on the international line.
    Line("global", "+12025550199", "FR", ("en-US",), "PARIS"),
)
# Countries the mix's callers come from: a generated regions file must leave them alone.
CALLER_COUNTRIES = frozenset(line.caller_country for line in LINES)


@dataclass(frozen=True)
class SignedRequest:
    """One webhook request as it goes on the wire; `kind` names its step for the mix table."""

    kind: str
    method: str
    path: str  # path and raw query string
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass
class _Call:
    sid: str
    line: Line
    caller: str
    token: str
    public_url: str
    requests: list[SignedRequest]
    sequence: int = 0

    def post(
        self, kind: str, path: str, extra: dict[str, str], status: str = "in-progress"
    ) -> None:
        params = {**_standard(self, status), **extra}
        body = urlencode(params)
        signature = RequestValidator(self.token).compute_signature(self.public_url + path, params)
        self.sequence += 1
        headers = (
            ("User-Agent", "TwilioProxy/1.1"),
            ("Accept", "*/*"),
            ("Content-Type", FORM),
            ("X-Twilio-Signature", signature),
            ("I-Twilio-Idempotency-Token", f"{self.sid[2:14]}-{self.sequence:04d}"),
            ("X-Home-Region", "us1"),
        )
        self.requests.append(SignedRequest(kind, "POST", path, headers, body))


def _standard(call: _Call, status: str) -> dict[str, str]:
    return call_parameters(call.sid, call.line, call.caller, status)


def call_parameters(sid: str, line: Line, caller: str, status: str) -> dict[str, str]:
    """The parameters Twilio sends with every voice webhook of an inbound call."""
    to_country = str(phonenumbers.region_code_for_number(phonenumbers.parse(line.hotline)))
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Called": line.hotline,
        "CalledCity": "",
        "CalledCountry": to_country,
        "CalledState": "",
        "CalledZip": "",
        "Caller": caller,
        "CallerCity": line.city,
        "CallerCountry": line.caller_country,
        "CallerState": "",
        "CallerZip": "",
        "Direction": "inbound",
        "From": caller,
        "FromCity": line.city,
        "FromCountry": line.caller_country,
        "FromState": "",
        "FromZip": "",
        "To": line.hotline,
        "ToCity": "",
        "ToCountry": to_country,
        "ToState": "",
        "ToZip": "",
    }


def _menu(node: str, region: str, language: str, reason: str | None = None) -> str:
    query = [("n", node), ("r", region), ("l", language)]
    if reason:
        query.append(("w", reason))
    return f"{MENU}?{urlencode(query)}"


def _keys(digits: str, finished_on: str = "") -> dict[str, str]:
    return {"Digits": digits, "FinishedOnKey": finished_on, "msg": "Gather End"}


def _speech(text: str) -> dict[str, str]:
    return {"SpeechResult": text, "Confidence": "0.91", "Language": "en-US"}


def _start(call: _Call, rng: random.Random) -> str:
    """The incoming webhook and, on a line with several languages, the language choice;
    returns the language the call goes on in."""
    line = call.line
    call.post("incoming", INCOMING, {}, status="ringing")
    if len(line.languages) == 1:
        return line.languages[0]
    choice = rng.randrange(len(line.languages))
    call.post("menu", _menu("lang", line.region, line.languages[0]), _keys(str(choice + 1)))
    return line.languages[choice]


def _queue(call: _Call, language: str, reason: str, polls: int, rng: random.Random) -> None:
    """Twilio polls the Enqueue waitUrl each time the wait document ends."""
    line = call.line
    queue = f"{line.region}-{language}"
    query = urlencode([("r", line.region), ("l", language), ("w", reason), ("q", queue)])
    position = rng.randint(polls, polls + 6)
    for poll in range(polls):
        waited = poll * 60 + rng.randint(0, 9)
        call.post(
            "queue-wait",
            f"{QUEUE_WAIT}?{query}",
            {
                "QueueSid": "QU" + hashlib.md5(queue.encode(), usedforsecurity=False).hexdigest(),
                "QueuePosition": str(position - poll),
                "QueueTime": str(waited),
                "AvgQueueTime": "95",
                "CurrentQueueSize": str(position + 2),
            },
        )


def _end(call: _Call, rng: random.Random) -> None:
    duration = str(rng.randint(40, 900))
    call.post(
        "status",
        STATUS,
        {
            "CallDuration": duration,
            "Duration": str(int(duration) // 60 + 1),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "0",
            "Timestamp": "Mon, 02 Mar 2026 10:15:00 +0000",
        },
        status="completed",
    )


def _self_service(call: _Call, rng: random.Random) -> None:
    """Forgotten password by key, back to the main menu with #, account security by voice."""
    r = call.line.region
    language = _start(call, rng)
    call.post("menu", _menu("main", r, language), _keys("1"))
    call.post("menu", _menu("password", r, language), _keys("#"))
    call.post("gather-speech", _menu("main", r, language), _speech("security"))
    _end(call, rng)


def _transaction(call: _Call, rng: random.Random) -> None:
    """A failed transaction, then an agent: keys the reference, confirms it, waits."""
    r = call.line.region
    language = _start(call, rng)
    call.post("menu", _menu("main", r, language), _keys("3"))
    call.post("menu", _menu("tx", r, language), _keys("2"))
    call.post("menu", _menu("tx_failed", r, language), _keys("0"))
    reference = f"2026030{rng.randint(1, 9)}{rng.randint(1000, 9999)}"
    ref_path = _menu("ref", r, language, "tx_failed")
    call.post("gather-digits", ref_path, _keys(reference, "#"))
    confirm = f"{_menu('confirm', r, language, 'tx_failed')}&d={reference}"
    call.post("menu", confirm, _keys("1"))
    _queue(call, language, "tx_failed", 2, rng)
    _end(call, rng)


def _spoken(call: _Call, rng: random.Random) -> None:
    """Says what they want at the main menu; hears the pending-transaction guidance twice."""
    r = call.line.region
    language = _start(call, rng)
    call.post("gather-speech", _menu("main", r, language), _speech("pending transaction"))
    call.post("menu", _menu("pending", r, language), _keys("*"))
    _end(call, rng)


def _agent(call: _Call, rng: random.Random) -> None:
    """Straight to an agent from the main menu, then waits in the queue."""
    r = call.line.region
    language = _start(call, rng)
    call.post("menu", _menu("main", r, language), _keys("0"))
    _queue(call, language, "main", rng.randint(2, 5), rng)
    _end(call, rng)


JOURNEYS = ((_self_service, 30), (_transaction, 20), (_spoken, 15), (_agent, 35))


def caller_number(country: str, index: int) -> str:
    """A valid mobile number of `country`, a different one for each `index` when possible."""
    example = phonenumbers.example_number_for_type(country, PhoneNumberType.MOBILE)
    assert example is not None, f"phonenumbers has no example mobile number for {country}"
    base = str(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    candidate = f"{base[:-3]}{index % 1000:03d}"
    parsed = phonenumbers.parse(candidate)
    return candidate if phonenumbers.is_valid_number(parsed) else base


def build_mix(
    token: str, public_url: str, calls: int = 240, seed: int = 20260302
) -> list[SignedRequest]:
    """`calls` whole calls over the regions of LINES, their requests interleaved as if the
    calls overlapped in time (each starts a little after the previous one)."""
    rng = random.Random(seed)
    timed: list[tuple[float, int, SignedRequest]] = []
    journeys = [journey for journey, _ in JOURNEYS]
    weights = [weight for _, weight in JOURNEYS]
    for index in range(calls):
        line = LINES[index % len(LINES)]
        call = _Call(
            sid="CA" + f"{rng.getrandbits(128):032x}",
            line=line,
            caller=caller_number(line.caller_country, index),
            token=token,
            public_url=public_url.rstrip("/"),
            requests=[],
        )
        rng.choices(journeys, weights)[0](call, rng)
        start = index * 4.0
        for step, request in enumerate(call.requests):
            timed.append((start + step * 25.0 + rng.random(), len(timed), request))
    return [request for _, _, request in sorted(timed)]


def composition(requests: list[SignedRequest]) -> dict[str, int]:
    """How many requests of each kind the mix holds, most frequent first."""
    return dict(Counter(request.kind for request in requests).most_common())
