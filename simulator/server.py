"""Live HTTP server: each target's current exposition at its path, wall-clock time.

Uses the standard library's ThreadingHTTPServer; binds 127.0.0.1 unless told otherwise.
`/` lists the targets with the labels Prometheus should attach (see `scrape-config`).
"""

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simulator.exposition import CONTENT_TYPE


def make_server(cluster, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A ready (not yet serving) server; port 0 picks a free port (see server.server_port)."""
    paths = {t.path: t for t in cluster.targets()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server naming)
            path = self.path.split("?", 1)[0]
            if path == "/":
                listing = [
                    {"path": t.path, "kind": t.kind, "labels": t.labels} for t in cluster.targets()
                ]
                self._send(200, "application/json", json.dumps(listing, indent=1) + "\n")
            elif path in paths:
                body = cluster.exposition(paths[path], time.time())
                self._send(200, CONTENT_TYPE, body)
            else:
                self._send(404, "text/plain", f"no target at {path}; see /\n")

        def _send(self, code: int, ctype: str, body: str):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test and CLI output quiet
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
