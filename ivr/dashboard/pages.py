"""The wallboard's HTML, CSS and script: package files (ivr/dashboard/static), read once.

Templates hold `{{name}}` slots; every value put in one is HTML-escaped. Figures never pass
through here: the page's script writes them into the page as text.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib.resources import files

from fastapi import Response

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
