"""A threaded HTTP server on 127.0.0.1, for the tests that play a broken or slow Prometheus.

Each test writes its own request handler (from `QuietHandler`); `LocalHTTPServer` runs it on a
free port for the length of a `with` block, and `forward` relays a request to a real server.
"""

import http.server
import threading

import requests

from simulator.prometheus import free_port


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access logs."""

    def log_message(self, *args):
        pass

    def request_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self, status: int, content: bytes, length: int | None = None) -> None:
        """Send a JSON answer; `length` may announce more bytes than are sent."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content) if length is None else length))
        self.end_headers()
        self.wfile.write(content)


def forward(handler: QuietHandler, target: str, body: bytes) -> requests.Response:
    """The answer of the server at `target` to the handler's request (with `body`)."""
    return requests.request(
        handler.command,
        target + handler.path,
        data=body,
        headers={"Content-Type": handler.headers.get("Content-Type", "")},
        timeout=30,
    )


class LocalHTTPServer:
    """`handler` served on 127.0.0.1 in a thread while the `with` block runs."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
