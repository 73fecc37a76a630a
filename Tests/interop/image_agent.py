"""The agent inside the test container image (Tests/interop/make_image.py): the standard library only.

Serves the container contract on 8080 (/ping, POST /invocations) and answers each invocation with what it sees of
its image and sandbox, so the tests can check the unpacked layers, the image config and the isolation."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def writable(path):
    try:
        with open(path, "w") as handle:
            handle.write("x")
        os.unlink(path)
        return True
    except OSError:
        return False


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply({"status": "Healthy"})

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.reply({
            "payload": payload,
            "sessionId": self.headers.get("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"),
            "greeting": os.environ.get("IMAGE_GREETING"),
            "runtimeVariable": os.environ.get("RUNTIME_VARIABLE"),
            "dockerContainer": os.environ.get("DOCKER_CONTAINER"),
            "cwd": os.getcwd(),
            "uid": os.getuid(),
            "staleExists": os.path.exists("/app/stale.txt"),
            "old": sorted(os.listdir("/opt/old")),
            "throughLink": os.path.exists("/usr/lib/through-link.txt"),
            "osRelease": open("/etc/os-release").read().strip(),
            "hostBubblewrapVisible": os.path.exists("/usr/bin/bwrap"),
            "usrWritable": writable("/usr/probe"),
            "workdirWritable": writable("/app/probe"),
            "tmpWritable": writable("/tmp/probe"),
        })


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
