"""A subset of Twilio's REST API (2010-04-01) in front of the switch, for the real `twilio` client:

    client = Client(switch.account_sid, AUTH_TOKEN)
    client.api.base_url = switch.serve_rest()

Under /2010-04-01/Accounts/{AccountSid}/:

    Calls.json             POST create: To, From, Url (+Method) or Twiml, Timeout, StatusCallback,
                           StatusCallbackMethod, StatusCallbackEvent. GET list: To, From, Status.
    Calls/{Sid}.json       GET fetch. POST update: Status=completed (ends any call) or canceled
                           (ends a queued or ringing call; either leaves an unanswered call
                           `canceled`), or Url (+Method) or Twiml: new instructions for a call
                           in progress (a queued caller leaves with QueueResult=redirected).
    Queues.json            GET list.
    Messages.json          POST create: To, From, Body (kept in `switch.messages`).
    Recordings/{Sid}.json  DELETE.

Every request needs HTTP Basic auth with the switch's account sid and auth token (else 401,
20003); another account's path is 404 (20404). Handlers run on the HTTP server's thread: they
read the switch's plain objects and hand new calls and call updates to the `Outbox`, which the
switch carries out at its next step. So a created call answers "queued", and an update answers
the call as it is when asked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ivr.emulator.attributes import url_problem
from ivr.emulator.callbacks import PROGRESS_EVENTS, StatusCallback
from ivr.emulator.exchange import Exchange, Message
from ivr.emulator.flow import Goto
from ivr.emulator.outbound import NotInProgress, Outbox
from ivr.emulator.params import API_VERSION
from ivr.emulator.rest_json import (
    Json,
    call_json,
    error_json,
    message_json,
    page_json,
    queue_json,
)

AUTHENTICATE = 20003
NOT_FOUND = 20404
METHOD_NOT_ALLOWED = 20004
NO_TO = 21201
NO_FROM = 21213
INVALID_URL = 21205
NOT_IN_PROGRESS = 21220
MESSAGE_NO_BODY = 21602
MESSAGE_NO_FROM = 21603
MESSAGE_NO_TO = 21604
# The emulator's one code for any other value Twilio refuses (a method that is not GET or POST,
# a Timeout that is not a number...): Twilio's own code differs from parameter to parameter.
INVALID_PARAMETER = 20001
DEFAULT_TIMEOUT = 60  # seconds a REST call rings before no-answer (Twilio: at most 600)
MAX_TIMEOUT = 600


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        body = error_json(self.status, self.code, self.message)
        return JSONResponse(body, status_code=self.status, headers=headers)


class Form:
    """Request parameters (form body or query string); names may repeat."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.pairs if key == name), None)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


Handler = Callable[[Request, Form], Response]


class RestApi:
    """The REST resources over one switch's state; `asgi()` is the app to serve."""

    def __init__(self, exchange: Exchange, outbox: Outbox, auth_token: str) -> None:
        self.x = exchange
        self.outbox = outbox
        self.auth_token = auth_token
        self.base = f"/{API_VERSION}/Accounts/{exchange.account_sid}"

    def asgi(self) -> Starlette:
        prefix = f"/{API_VERSION}/Accounts/{{account}}"
        routes = [
            Route(f"{prefix}/Calls.json", self._endpoint(self.create_call), methods=["POST"]),
            Route(f"{prefix}/Calls.json", self._endpoint(self.list_calls), methods=["GET"]),
            Route(f"{prefix}/Calls/{{sid}}.json", self._endpoint(self.fetch_call), methods=["GET"]),
            Route(
                f"{prefix}/Calls/{{sid}}.json", self._endpoint(self.update_call), methods=["POST"]
            ),
            Route(f"{prefix}/Queues.json", self._endpoint(self.list_queues), methods=["GET"]),
            Route(f"{prefix}/Messages.json", self._endpoint(self.create_message), methods=["POST"]),
            Route(
                f"{prefix}/Recordings/{{sid}}.json",
                self._endpoint(self.delete_recording),
                methods=["DELETE"],
            ),
        ]
        handlers = {404: _unknown_path, 405: _method_not_allowed}
        return Starlette(routes=routes, exception_handlers=handlers)

    # --- the envelope: auth, account, parameters, errors ------------------------------------------
    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                self._authenticate(request)
                if request.path_params["account"] != self.x.account_sid:
                    raise _not_found(request)
                if request.method == "GET":
                    form = Form(list(request.query_params.multi_items()))
                else:
                    body = (await request.body()).decode("utf-8", "replace")
                    form = Form(parse_qsl(body, keep_blank_values=True))
                return handler(request, form)
            except ApiError as error:
                return error.response()

        return endpoint

    def _authenticate(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            user = password = b""
        expected = (self.x.account_sid.encode(), self.auth_token.encode())
        # Both compared in full every time, so timing tells nothing about which one was wrong.
        same_user = hmac.compare_digest(user, expected[0])
        same_password = hmac.compare_digest(password, expected[1])
        if scheme.lower() != "basic" or not (same_user and same_password):
            raise ApiError(401, AUTHENTICATE, "Authenticate")

    # --- Calls ---------------------------------------------------------------------------------
    def create_call(self, request: Request, form: Form) -> Response:
        to, from_ = form.get("To"), form.get("From")
        if not to:
            raise ApiError(400, NO_TO, "No 'To' number is specified")
        if not from_:
            raise ApiError(400, NO_FROM, "No 'From' number is specified")
        first = _instructions(form)
        if first is None:
            raise ApiError(400, INVALID_URL, "A 'Url' or 'Twiml' parameter is required")
        queued = self.outbox.place(
            to=to, from_=from_, first=first, timeout=_timeout(form), callback=_callback(form)
        )
        return JSONResponse(call_json(queued, self.x.account_sid), status_code=201)

    def list_calls(self, request: Request, form: Form) -> Response:
        calls = [call_json(call, self.x.account_sid) for call in self.outbox.all_calls()]
        wanted = {"to": form.get("To"), "from": form.get("From"), "status": form.get("Status")}
        chosen = [
            call
            for call in reversed(calls)  # Twilio lists the newest first
            if all(value is None or call[key] == value for key, value in wanted.items())
        ]
        return self._page("calls", chosen, f"{self.base}/Calls.json", form)

    def fetch_call(self, request: Request, form: Form) -> Response:
        call = self.outbox.find(request.path_params["sid"])
        if call is None:
            raise _not_found(request)
        return JSONResponse(call_json(call, self.x.account_sid))

    def update_call(self, request: Request, form: Form) -> Response:
        status = form.get("Status")
        if status is not None and status not in ("completed", "canceled"):
            message = f"Status must be completed or canceled, not {status!r}"
            raise ApiError(400, INVALID_PARAMETER, message)
        redirect = _instructions(form)
        try:
            call = self.outbox.update(
                request.path_params["sid"],
                status=status,
                redirect=redirect if status is None else None,  # ending wins over new TwiML
            )
        except NotInProgress:
            message = "Call is not in-progress. Cannot redirect."
            raise ApiError(400, NOT_IN_PROGRESS, message) from None
        if call is None:
            raise _not_found(request)
        return JSONResponse(call_json(call, self.x.account_sid))

    # --- Queues, Messages, Recordings ------------------------------------------------------
    def list_queues(self, request: Request, form: Form) -> Response:
        now = self.x.clock.now()
        queues = [queue_json(q, self.x.account_sid, now) for q in list(self.x.queues.values())]
        return self._page("queues", queues, f"{self.base}/Queues.json", form)

    def create_message(self, request: Request, form: Form) -> Response:
        to, from_, body = form.get("To"), form.get("From"), form.get("Body")
        if not to:
            raise ApiError(400, MESSAGE_NO_TO, "A 'To' phone number is required.")
        if not from_:
            raise ApiError(400, MESSAGE_NO_FROM, "A 'From' phone number is required.")
        if not body:
            raise ApiError(400, MESSAGE_NO_BODY, "Message body is required.")
        message = Message(self.x.new_sid("SM"), to, from_, body, self.x.clock.now())
        self.x.messages.append(message)  # one list operation: safe next to the switch's thread
        return JSONResponse(message_json(message, self.x.account_sid), status_code=201)

    def delete_recording(self, request: Request, form: Form) -> Response:
        sid = request.path_params["sid"]
        recording = next((r for r in list(self.x.recordings) if r.sid == sid), None)
        if recording is None:
            raise _not_found(request)
        self.x.recordings.remove(recording)
        return Response(status_code=204)

    def _page(self, key: str, items: list[Json], path: str, form: Form) -> Response:
        page = _integer(form, "Page", default=0, low=0, high=10**6)
        page_size = _integer(form, "PageSize", default=50, low=1, high=1000)
        return JSONResponse(page_json(key, items, path, page, page_size))


def _instructions(form: Form) -> Goto | str | None:
    """What a call runs: inline Twiml, or the document at Url (None: neither was given)."""
    twiml, url = form.get("Twiml"), form.get("Url")
    if twiml is not None and url is not None:
        raise ApiError(400, INVALID_PARAMETER, "Url and Twiml are mutually exclusive")
    if twiml is not None:
        return twiml
    if url is None:
        return None
    if problem := url_problem(url):
        raise ApiError(400, INVALID_URL, f"Url is not valid: {problem}")
    return Goto(url, _method(form, "Method"), "voice")


def _callback(form: Form) -> StatusCallback | None:
    url = form.get("StatusCallback")
    if url is None:
        return None
    if problem := url_problem(url):
        raise ApiError(400, INVALID_URL, f"StatusCallback is not valid: {problem}")
    # The twilio client repeats the parameter; a single space-separated value works too.
    events = {event for value in form.getlist("StatusCallbackEvent") for event in value.split()}
    if unknown := events - set(PROGRESS_EVENTS):
        message = f"StatusCallbackEvent {sorted(unknown)} is not one of {list(PROGRESS_EVENTS)}"
        raise ApiError(400, INVALID_PARAMETER, message)
    method = _method(form, "StatusCallbackMethod")
    return StatusCallback(url, method, frozenset(events or {"completed"}))


def _method(form: Form, name: str) -> str:
    method = (form.get(name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise ApiError(400, INVALID_PARAMETER, f"{name} must be GET or POST, not {method!r}")
    return method


def _timeout(form: Form) -> int:
    # Twilio caps the ringing time at 600 s rather than refusing a longer one.
    return min(_integer(form, "Timeout", default=DEFAULT_TIMEOUT, low=1), MAX_TIMEOUT)


def _integer(form: Form, name: str, *, default: int, low: int, high: int | None = None) -> int:
    raw = form.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" + ("" if high is None else f" and <= {high}")
        raise ApiError(400, INVALID_PARAMETER, f"{name} must be an integer {bounds}, not {raw!r}")
    return value


def _not_found(request: Request) -> ApiError:
    message = f"The requested resource {request.url.path} was not found"
    return ApiError(404, NOT_FOUND, message)


# Unknown paths and methods answer in Twilio's JSON error shape too.
async def _unknown_path(request: Request, error: Exception) -> Response:
    return _not_found(request).response()


async def _method_not_allowed(request: Request, error: Exception) -> Response:
    message = f"Method {request.method} not allowed on {request.url.path}"
    return ApiError(405, METHOD_NOT_ALLOWED, message).response()
