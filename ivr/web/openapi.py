"""The OpenAPI document of Twilio's webhooks, as kept in docs/webhooks.openapi.json.

FastAPI documents its own routes; the webhooks are served ahead of its router
(ivr.web.webhooks), so their document is made from their table. The service's `/openapi.json`
holds the same paths; the file is what Twilio-facing reviewers and schemathesis read, and a
test keeps it equal to the routes.

    python -m ivr.web.openapi docs/webhooks.openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ivr.web.routes import webhooks
from ivr.web.webhooks import openapi_paths


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ivr webhooks",
            "version": "1",
            "description": "Twilio's voice webhooks: form posts in (signed with "
            "X-Twilio-Signature), TwiML out. Query strings carry the menu state the service "
            "itself put in its own URLs.",
        },
        "paths": openapi_paths(webhooks()),
    }


def text() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ivr.web.openapi FILE", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
