"""The REST API on a real HTTP server: uvicorn in a daemon thread on a free loopback port.

A real socket because the twilio client talks HTTP through `requests`. The socket is bound and
listening before the thread starts, so the first request can be sent at once: it waits in the
backlog until uvicorn serves it, and no test has to poll or sleep.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from starlette.types import ASGIApp

STOP_SECONDS = 10.0


class RestServer:
    """Serves `app` on 127.0.0.1 from construction until `stop()`."""

    def __init__(self, app: ASGIApp) -> None:
        self._listener = socket.socket()
        try:
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen()
            host, port = self._listener.getsockname()[:2]
        except OSError:
            self._listener.close()
            raise
        # log_config=None: leave the process's logging alone (uvicorn would reconfigure it).
        config = uvicorn.Config(
            app, lifespan="off", ws="none", log_config=None, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name="twilio-rest-emulator",
            daemon=True,
        )
        self.url = f"http://{host}:{port}"
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread (uvicorn checks the flag every 0.1 s)."""
        self._server.should_exit = True
        self._thread.join(timeout=STOP_SECONDS)
        self._listener.close()
