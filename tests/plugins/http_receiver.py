"""A real local HTTP server that records what sinks POST and answers as a test scripts it.

Why not mock urllib: the sinks' value is in what actually crosses the wire (headers, bytes,
status handling, retries), so the tests read it from a socket.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """Records every request; answers with queued replies, then with ``default``.

    ``fail_every = n`` makes it flaky: every n-th POST is answered 503 (and not accepted);
    ``accepted`` holds the bodies of the requests answered 2xx, in order.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.accepted: list[bytes] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.fail_every = 0
        #: Seconds each request takes to answer (a slow receiver, as Slack under load).
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, request: Received) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.fail_every and len(self.requests) % self.fail_every == 0:
                return Reply(503, b"flaky")
            reply = self.replies.popleft() if self.replies else self.default
            if 200 <= reply.status < 300:
                self.accepted.append(request.body)
            return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Received("POST", self.path, dict(self.headers), self.rfile.read(length))
                if receiver.delay:
                    time.sleep(receiver.delay)  # the receiver's latency, not a test's wait
                reply = receiver._next_reply(request)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()
