"""Reading one TwiML element's attributes the way Twilio does.

Unknown attributes are reported (12200) and ignored; invalid values are reported under the
verb's own warning code and replaced by the documented default. Nothing here fails a call.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from ivr.emulator.errors import Finding, Problem

_INTEGER = re.compile(r"[+-]?\d+")


def start_tag(element: ET.Element) -> str:
    """The element's start tag as it appeared, for error messages: `<Gather numDigits="1">`."""
    attributes = "".join(f' {name}="{value}"' for name, value in element.attrib.items())
    return f"<{element.tag}{attributes}>"


def resolve(base: str, reference: str) -> str:
    """A URL from a TwiML document made absolute against the document's URL (as Twilio does)."""
    return urljoin(base, reference.strip())


class AttributeReader:
    """Typed access to one element's attributes, collecting warnings as it goes."""

    def __init__(self, element: ET.Element, known: frozenset[str]) -> None:
        self.element = element
        self.tag = start_tag(element)
        self.warnings: list[Finding] = []
        for name in element.attrib:
            if name not in known:
                self.warn(Problem.UNKNOWN_ATTRIBUTE, f"attribute {name!r} is not allowed here")

    def warn(self, problem: Problem, message: str) -> None:
        self.warnings.append(Finding(problem, message, self.tag))

    def text(self, name: str) -> str | None:
        return self.element.get(name)

    def integer(
        self,
        name: str,
        default: int,
        problem: Problem,
        minimum: int = 1,
        maximum: int | None = None,
    ) -> int:
        """An integer within [minimum, maximum]; anything else warns and gives the default."""
        value = self.optional_integer(name, problem, minimum, maximum)
        return default if value is None else value

    def optional_integer(
        self, name: str, problem: Problem, minimum: int = 1, maximum: int | None = None
    ) -> int | None:
        raw = self.element.get(name)
        if raw is None:
            return None
        if _INTEGER.fullmatch(raw.strip()):
            number = int(raw)
            if number >= minimum and (maximum is None or number <= maximum):
                return number
        bounds = f">= {minimum}" + ("" if maximum is None else f" and <= {maximum}")
        self.warn(problem, f"{name}={raw!r} is not an integer {bounds}; the default is used")
        return None

    def choice(self, name: str, default: str, allowed: frozenset[str], problem: Problem) -> str:
        raw = self.element.get(name)
        if raw is None:
            return default
        if raw in allowed:
            return raw
        self.warn(problem, f"{name}={raw!r} is not one of {sorted(allowed)}; {default!r} is used")
        return default

    def method(self, name: str, problem: Problem = Problem.INVALID_ATTRIBUTE_VALUE) -> str:
        raw = self.element.get(name)
        if raw is None:
            return "POST"
        if raw.upper() in ("GET", "POST"):
            return raw.upper()
        self.warn(problem, f"{name}={raw!r} must be GET or POST; POST is used")
        return "POST"

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.element.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        self.warn(
            Problem.INVALID_ATTRIBUTE_VALUE, f"{name}={raw!r} must be true or false; {default} used"
        )
        return default

    def url(self, name: str, base: str) -> str | None:
        raw = self.element.get(name)
        return None if raw is None else resolve(base, raw)


def url_problem(url: str) -> str | None:
    """Why Twilio could not request `url` (11100), or None for a fully qualified http(s) URL."""
    try:
        parts = urlsplit(url)
    except ValueError as error:
        return f"{url!r} is not a URL ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not a fully qualified http:// or https:// URL"
    if any(character.isspace() for character in url):
        return f"{url!r} contains white space"
    return None
