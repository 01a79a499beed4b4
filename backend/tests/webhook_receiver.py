"""A webhook receiver on 127.0.0.1: records every request and answers by path.

`/ok...` answers 200, `/fail...` 500, `/redirect...` a 302 to `/ok`, and `/hold...` records the
request, then holds it until `release` is set (to kill a sender mid-delivery) and answers 200.
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandpod.domain.webhook_signatures import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SignatureVerificationError,
    verify_signature,
)

HOLD_SECONDS = 60  # the longest a held request waits: the receiver never hangs a test for good


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def delivery_id(self) -> str:
        return self.headers[DELIVERY_HEADER]

    @property
    def execution_id(self) -> str:
        execution_id: str = self.json()["id"]
        return execution_id

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def verified(self, secret: str) -> bool:
        try:
            verify_signature(secret, self.headers.get(SIGNATURE_HEADER, ""), self.body)
        except SignatureVerificationError:
            return False
        return True


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                if self.path.startswith("/hold"):
                    receiver.release.wait(HOLD_SECONDS)
                status, headers = 200, {}
                if self.path.startswith("/fail"):
                    status = 500
                elif self.path.startswith("/redirect"):
                    status, headers = 302, {"Location": receiver.url("/ok")}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the test reads `received`

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def of(self, execution_id: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.execution_id == execution_id]

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


def receiving() -> Iterator[Receiver]:
    """For a fixture: a running receiver, stopped after the test."""
    with Receiver() as receiver:
        yield receiver
