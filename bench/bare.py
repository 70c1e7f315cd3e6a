"""The baseline: a bare FastAPI app answering every webhook path with a constant TwiML string.

Served exactly as the benchmark runs `ivr serve --no-access-log` (see `ivr.commands.serve`):
uvicorn in-process, one worker, uvicorn's automatic loop and HTTP choices (uvloop and httptools
when installed), proxy headers on, the service's logging configuration, no access log. So the
ratio of the two measures the app, not the server.

    python -m bench.bare --port 8001
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI, Response

from bench.mix import PATHS

XML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/voice/menu?n=main&amp;r=gb&amp;l=en-GB" finishOnKey="" '
    'input="dtmf speech" language="en-GB" method="POST" numDigits="1" speechTimeout="auto" '
    'timeout="5"><Say language="en-GB" voice="Polly.Amy">Main menu.</Say>'
    '<Say language="en-GB" voice="Polly.Amy">If you forgot your password, press 1.</Say>'
    '<Say language="en-GB" voice="Polly.Amy">To speak with an agent, press 0.</Say>'
    "</Gather></Response>"
)
CONTENT_TYPE = "text/xml; charset=utf-8"


async def answer() -> Response:
    return Response(XML, media_type=CONTENT_TYPE)


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare")
    for path in PATHS:
        app.add_api_route(path, answer, methods=["POST"], response_class=Response)
    return app


def main() -> None:
    import uvicorn

    from ivr.logs import configure_logging, server_logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # The same call as `ivr serve`, whose settings these are.
    configure_logging(log_format="text")
    uvicorn.run(
        create_bare_app(),
        host=args.host,
        port=args.port,
        workers=1,
        proxy_headers=True,
        log_config=server_logging("text"),
        access_log=False,
    )


if __name__ == "__main__":
    main()
