"""Twilio webhook checks: body size and shape, and X-Twilio-Signature over the public URL.

A request that fails here gets a short 4xx and no TwiML; the menu never sees it. Without
TWILIO_AUTH_TOKEN nothing is signed: such webhooks are answered only when they reach the
service on loopback (or a unix socket), unless the operator allows them everywhere.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

from ivr.config.settings import Settings
from ivr.web import metrics
from ivr.web.exposure import reached_publicly

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"
UNSIGNED_REFUSED = "unsigned webhooks are refused on this address: set TWILIO_AUTH_TOKEN"
_operator_told = False  # the error line about unsigned webhooks, once per process


def request_path(request: Request) -> str:
    """`request.url.path` without building the whole URL (its host header parsed, its parts
    joined and split again) for the one part a webhook needs."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def signed_url(request: Request, settings: Settings) -> str:
    """The exact URL Twilio requested: the public base + our path + the raw query string.

    Behind a proxy the service sees an internal host and a path without the public prefix;
    Twilio signed the public one, so it is rebuilt from IVR_PUBLIC_URL, query byte for byte.
    """
    path = request_path(request)
    query = request.scope.get("query_string", b"").decode("latin-1")
    suffix = path + (f"?{query}" if query else "")
    if not settings.public_url:
        return str(request.base_url).rstrip("/") + suffix
    # The proxy strips the public path prefix before the request reaches us; put it back.
    base = urlsplit(settings.public_url)
    return f"{base.scheme}://{base.netloc}{settings.path_prefix}{suffix}"


async def read_form(request: Request, settings: Settings) -> FormData:
    """The webhook's form parameters, checked for type, size, encoding and signature."""
    if settings.auth_token is None and not settings.allow_unsigned:
        refuse_unsigned_on_a_public_address(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise HTTPException(415, f"expected {FORM}")
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > settings.max_body_bytes:
        raise HTTPException(413, "request body too large")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                raise HTTPException(413, "request body too large")
    except ClientDisconnect:
        # The client went away before its body arrived: nobody is left to answer.
        raise HTTPException(400, "client disconnected") from None
    try:
        pairs = parse_form(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "malformed form body") from None
    form = WebhookForm(pairs)
    token = settings.auth_token
    if token is not None:
        signature = request.headers.get("x-twilio-signature", "")
        url = signed_url(request, settings)
        if not signature or not _signed_by_twilio(token, url, form, signature, request):
            log.warning("rejected webhook with a bad signature", extra={"url": url})
            metrics.signature_failed()
            raise HTTPException(403, "invalid Twilio signature")
    return form


def refuse_unsigned_on_a_public_address(request: Request) -> None:
    """403 for a webhook that reached a public address while nothing can be signed: anyone
    who reaches the port could otherwise drive calls. The operator hears of it once."""
    global _operator_told
    if not reached_publicly(request.scope):
        return
    if not _operator_told:
        _operator_told = True
        log.error(
            "refused an unsigned webhook that reached %s, not a loopback address: set "
            "TWILIO_AUTH_TOKEN (or IVR_ALLOW_UNSIGNED=1, ivr serve --insecure-unsigned, to "
            "answer unsigned webhooks on every address)",
            request.scope["server"][0],
        )
    raise HTTPException(403, UNSIGNED_REFUSED)


def parse_form(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, strict_parsing=True)` (ValueError for a field
    without "="; nothing for an empty body), in a fifth of the time: a webhook carries some
    thirty fields, most with nothing to unquote."""
    if not text:
        return []
    pairs = []
    for field in text.split("&"):
        name, equals, value = field.partition("=")
        if not equals:
            raise ValueError(f"bad form field: {field[:40]!r}")
        if "+" in field:
            name, value = name.replace("+", " "), value.replace("+", " ")
        pairs.append(
            (unquote(name) if "%" in name else name, unquote(value) if "%" in value else value)
        )
    return pairs


class WebhookForm(FormData):
    """The form, with each name's values indexed once: the signature check asks for every
    name's values, and starlette's `getlist` scans the whole form each time. `last` is each
    name's last value as a plain dict (FormData's own mapping methods are Python-level calls
    per name: the parameters' model reads all of them)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(list[tuple[str, str | UploadFile]](pairs))
        self.last: dict[str, str] = dict(pairs)
        self._lists: dict[str, list[str | UploadFile]] = {}
        for name, value in pairs:
            self._lists.setdefault(name, []).append(value)

    def get(self, key: Any, default: Any = None) -> Any:
        return self.last.get(key, default)

    def getlist(self, key: object) -> list[str | UploadFile]:
        return list(self._lists.get(key, ())) if isinstance(key, str) else []

    # RequestValidator asks for `getall` first and falls back on `getlist` after an
    # AttributeError, for every name of the form: answer the first question.
    getall = getlist


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def _signed_by_twilio(
    token: str, url: str, form: FormData, signature: str, request: Request
) -> bool:
    """Twilio's own check, with the URL as requested first: that is how Twilio signs, so one
    HMAC settles nearly every request; only a mismatch pays for `validate`, which also tries
    the URL with and without its port. A shared-key webhook names its algorithm in a header."""
    validator = _validator(token)
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    try:
        if compare(validator.compute_signature(url, form, algorithm), signature):
            return True
    except ValueError:
        return False  # an algorithm this twilio library does not know
    return bool(validator.validate(url, form, signature, algorithm))
