"""The X-Twilio-Signature the emulator computes matches Twilio's documented vector and twilio's
own RequestValidator, on POST and GET, over the public URL."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from ivr.emulator import sign_request

DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_signature_matches_the_vector_from_twilio_docs() -> None:
    assert sign_request("12345", DOCS_URL, DOCS_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signature_agrees_with_twilio_request_validator() -> None:
    params = {"From": "+8613812345678", "To": "+864001234567", "Body": "密码 & more", "Empty": ""}
    url = "https://ivr.example.com/voice/menu?step=2"
    signature = sign_request("secret", url, params)
    assert RequestValidator("secret").validate(url, params, signature)
    assert signature == RequestValidator("secret").compute_signature(url, params)


def test_get_signature_covers_the_full_url_only() -> None:
    url = "https://ivr.example.com/voice/wait?QueuePosition=1&From=%2B8613812345678"
    signature = sign_request("secret", url)
    assert RequestValidator("secret").validate(url, {}, signature)


def test_signature_changes_with_any_parameter() -> None:
    changed = {**DOCS_PARAMS, "Digits": "1235"}
    assert sign_request("12345", DOCS_URL, changed) != sign_request("12345", DOCS_URL, DOCS_PARAMS)
