"""Webhook bodies are read exactly as the standard library reads them, only faster."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from ivr.web.signature import parse_form, request_path


def standard(text: str) -> list[tuple[str, str]] | type[ValueError]:
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return ValueError


def ours(text: str) -> list[tuple[str, str]] | type[ValueError]:
    try:
        return parse_form(text)
    except ValueError:
        return ValueError


FIELD_TEXT = st.text(alphabet=st.sampled_from("ab=&+%2F3Cé中 \x00;"), max_size=40)


@given(FIELD_TEXT)
def test_any_text_is_read_as_parse_qsl_reads_it(text: str) -> None:
    assert ours(text) == standard(text)


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=12))
def test_any_encoded_form_comes_back_field_for_field(fields: list[tuple[str, str]]) -> None:
    body = urlencode(fields)
    assert parse_form(body) == (fields if body else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("Digits=1&SpeechResult=", [("Digits", "1"), ("SpeechResult", "")]),
        ("From=%2B81312345678&To=+1", [("From", "+81312345678"), ("To", " 1")]),
        ("a=1&&b=2", ValueError),
        ("a", ValueError),
        ("bad=%zz", [("bad", "%zz")]),
    ],
)
def test_examples(text: str, expected: object) -> None:
    assert ours(text) == expected == standard(text)


@pytest.mark.parametrize(
    "path", ["/voice/menu", "/voice/a?b#c\\d", "/prefix/voice/status", "/voice/caf\u00e9"]
)
def test_the_signed_path_is_the_one_starlette_would_build(path: str) -> None:
    scope = {
        "type": "http",
        "path": path,
        "root_path": "",
        "query_string": b"n=main",
        "headers": [(b"host", b"ivr.internal:8000")],
        "server": ("ivr.internal", 8000),
        "scheme": "http",
    }
    request = Request(scope)
    assert request_path(request) == request.url.path
