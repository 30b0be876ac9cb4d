"""A webhook receiver for the compose stack: Alertmanager's notifications, logged and listed.

Alertmanager's receivers in deploy/alertmanager/alertmanager.yml post here (``/pager``,
``/chat``, ``/review``) until real PagerDuty or Slack receivers replace them. Each notification
is logged as one JSON line (``docker compose logs alert-receiver``) and the latest ones are
listed at ``GET /`` (http://localhost:5001/). Standard library only: it runs in the plain
``python`` image with this file mounted.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEEP = 200
#: Bodies above this are refused: Alertmanager batches stay far below it.
MAX_BODY = 4 * 1024 * 1024
received: deque[dict[str, Any]] = deque(maxlen=KEEP)


def summary(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a person wants from one notification: where it went, status, which alerts."""
    alerts = body.get("alerts") or []
    return {
        "receiver": path.strip("/") or "(root)",
        "status": body.get("status"),
        "group": body.get("groupLabels"),
        "alerts": [
            {
                "alertname": (alert.get("labels") or {}).get("alertname"),
                "severity": (alert.get("labels") or {}).get("severity"),
                "status": alert.get("status"),
                "summary": (alert.get("annotations") or {}).get("summary"),
            }
            for alert in alerts
        ],
    }


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._reply(400, {"error": "not JSON"})
            return
        entry = summary(self.path, body if isinstance(body, dict) else {})
        received.append(entry)
        print(json.dumps(entry), flush=True)
        self._reply(200, {"ok": True})

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"ok": True})
        else:
            self._reply(200, list(received)[::-1])

    def _reply(self, status: int, document: Any) -> None:
        data = json.dumps(document, indent=1).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Each notification is already one line; requests are not worth another."""


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5001"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(json.dumps({"listening": port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
