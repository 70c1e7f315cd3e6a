"""The `X-Twilio-Signature` Twilio puts on every webhook request, computed the way Twilio does."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def sign_request(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """Base64 HMAC-SHA1, keyed with the auth token, over the URL and the sorted form parameters.

    `url` is the full public URL Twilio requested, query string included. For a POST each
    parameter name is appended to it, followed by its value, in name order; for a GET the
    parameters already sit in the query string, so pass none.
    """
    fields = params or {}
    payload = url + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
