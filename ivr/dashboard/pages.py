"""The wallboard's HTML, CSS and script: package files (ivr/dashboard/static), read once;
and the headers every wallboard answer carries.

Templates hold `{{name}}` slots; every value put in one is HTML-escaped. Figures never pass
through here: the page's script writes them into the page as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Coroutine
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

# Our pages load only our own script and stylesheet, connect only to us, and are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Every wallboard answer: never framed (old browsers know only X-Frame-Options). Over https,
# browsers are told to use https only from then on, for a year.
NEVER_FRAMED = {"X-Frame-Options": "DENY"}
HSTS = {"Strict-Transport-Security": "max-age=31536000"}
_SLOT = re.compile(r"\{\{(\w+)\}\}")
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@cache
def static_file(name: str) -> str:
    """A file of ivr/dashboard/static, as text."""
    return (files("ivr.dashboard") / "static" / name).read_text(encoding="utf-8")


def page(file: str, status_code: int = 200, /, **values: str | int | float) -> Response:
    """The template `file` with its slots filled (escaped), as an HTML response."""
    template = static_file(file)

    def fill(match: re.Match[str]) -> str:
        return html.escape(str(values[match.group(1)]))

    return Response(
        _SLOT.sub(fill, template),
        status_code=status_code,
        media_type="text/html; charset=utf-8",
        headers=SECURITY_HEADERS,
    )


def asset(name: str) -> Response:
    """A stylesheet or script of the wallboard."""
    suffix = name[name.rfind(".") :]
    headers = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"}
    return Response(static_file(name), media_type=TYPES[suffix], headers=headers)


def message(title: str, text: str, status_code: int, prefix: str) -> Response:
    """A page that only says something: the wallboard is off, the database is away..."""
    return page("message.html", status_code, title=title, text=text, prefix=prefix)


def over_https(request: Request) -> bool:
    """The browser reached us over https: the scheme uvicorn saw, which is the trusted proxy's
    X-Forwarded-Proto behind nginx (FORWARDED_ALLOW_IPS), or an https IVR_PUBLIC_URL."""
    public_url: str = request.app.state.services.settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def add_wallboard_headers(request: Request, response: Response) -> Response:
    response.headers.update(NEVER_FRAMED)
    if over_https(request):
        response.headers.update(HSTS)
    return response


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class WallboardRoute(APIRoute):
    """A wallboard route: its answers carry NEVER_FRAMED, and HSTS over https."""

    def get_route_handler(self) -> Endpoint:
        handle = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            return add_wallboard_headers(request, await handle(request))

        return with_headers
