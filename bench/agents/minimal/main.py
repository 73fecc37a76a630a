"""The smallest agent that serves the container contract, with the standard library only: /ping and POST
/invocations on $PORT (default 8080, the contract's), keep-alive, a fixed small JSON answer. bench/sandbox.sh runs
it by hand and inside Portcullis sessions, so the two differ only by what Portcullis adds."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = json.dumps({"result": "ok"}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write, without Nagle's delay (else every keep-alive answer waits ~40 ms for
    # the client's delayed ACK).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, body):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        self.wfile.write(head + body)

    def do_GET(self):
        self.answer(b'{"status": "Healthy"}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(ANSWER)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
    server.daemon_threads = True
    server.serve_forever()
