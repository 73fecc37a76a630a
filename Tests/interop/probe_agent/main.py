"""A test agent for the sandbox tests: the container contract (/ping, /invocations) with actions that probe its
sandbox from the inside (files, processes, network, limits) and report what happened. Standard library only."""
import base64
import ctypes
import hashlib
import errno
import json
import os
import random
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Drawn at start, as an agent that makes a TLS context does: OpenSSL's generator then holds state of its own.
ssl.RAND_bytes(16)
random.random()
BUSY_UNTIL = [0.0]
HELD = []


def failure(error):
    return {"error": errno.errorcode.get(error.errno, type(error).__name__) if getattr(error, "errno", None) else type(error).__name__}


def attempt(action):
    try:
        return {"ok": action()}
    except OSError as error:
        return failure(error)


def act(body, headers):
    action = body.get("action", "echo")
    if action == "echo":
        return {
            "session": headers.get("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"),
            "request": headers.get("X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"),
            "custom": {k: v for k, v in headers.items() if k.lower().startswith("x-amzn-bedrock-agentcore-runtime-custom-")},
            "uid": os.getuid(),
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
            "cwd": os.getcwd(),
            "docker": os.environ.get("DOCKER_CONTAINER"),
            "home": os.environ.get("HOME"),
            "environment": body.get("variable") and os.environ.get(body["variable"]),
            "workloadAccessToken": headers.get("X-Amz-Bedrock-AgentCore-Identity-WAT"),
            "workloadAccessTokenA2A": headers.get("WorkloadAccessToken"),
            "oauth2CallbackUrl": headers.get("OAuth2CallbackUrl"),
            "time": time.time(),
        }
    if action == "random":
        return {
            "urandom": os.urandom(16).hex(), "getrandom": os.getrandom(16).hex(),
            "openssl": ssl.RAND_bytes(16).hex(), "random": random.getrandbits(128).to_bytes(16, "big").hex(),
        }
    if action == "import":
        def load():
            import importlib
            module = importlib.import_module(body["module"])
            return {"file": module.__file__, "value": getattr(module, "VALUE", None)}
        try:
            return {"ok": load()}
        except ImportError as error:
            return {"error": type(error).__name__}
    if action == "write":
        def write():
            with open(body["path"], "w") as file:
                file.write(body.get("content", "x"))
            return True
        return attempt(write)
    if action == "read":
        return attempt(lambda: open(body["path"]).read())
    if action == "list":
        return attempt(lambda: sorted(os.listdir(body["path"])))
    if action == "pids":
        return {"ok": sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit())}
    if action == "processes":
        def commands():
            names = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        names.append(open(f"/proc/{entry}/comm").read().strip())
                    except OSError:
                        pass
            return sorted(names)
        return attempt(commands)
    if action == "loopback":
        # This sandbox's own agent port, as any process in it would call it: whose agent answers there.
        def call():
            import urllib.request
            request = urllib.request.Request(
                f"http://127.0.0.1:{body['port']}/invocations", data=b'{"action": "echo"}', method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())["hostname"]
        return attempt(call)
    if action == "interfaces":
        lines = open("/proc/net/dev").read().splitlines()[2:]
        return {"ok": sorted(line.split(":")[0].strip() for line in lines)}
    if action == "connect":
        def connect():
            with socket.create_connection((body["host"], body["port"]), timeout=2):
                return True
        return attempt(connect)
    if action == "tunnel":
        # Through the egress proxy named by HTTPS_PROXY: CONNECT target, then a line to the echo server there.
        def tunnel():
            proxy = os.environ.get("HTTPS_PROXY", "")
            host, port = proxy.removeprefix("http://").rstrip("/").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as connection:
                connection.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (body.get("method", "CONNECT"), body["target"], body["target"])).encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
                if status != 200:
                    return {"status": status, "reason": head.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip()}
                connection.sendall(b"hello through the tunnel\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                return {"status": status, "reply": reply.decode().strip()}
        return attempt(tunnel)
    if action == "vault":
        # A raw call to the gateway endpoint in the sandbox, with this call's workload access token or a given one.
        def call():
            import urllib.error
            import urllib.request
            token = body.get("token") or headers.get("X-Amz-Bedrock-AgentCore-Identity-WAT")
            request = urllib.request.Request(
                os.environ["BEDROCK_AGENTCORE_DP_ENDPOINT"] + body.get("path", "/identities/api-key"),
                data=json.dumps({"workloadIdentityToken": token, "resourceCredentialProviderName": body["provider"]}).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return {"status": response.status, "body": json.loads(response.read())}
            except urllib.error.HTTPError as error:
                return {"status": error.code, "body": json.loads(error.read() or b"{}")}
        return attempt(call)
    if action == "spans":
        # An agent's own span, exported as OpenTelemetry SDKs do (OTLP/HTTP JSON here: standard library only) to
        # the receiver the gateway names, as a child of the traceparent the gateway sent; it claims a session
        # under the gateway's reserved prefix, which the gateway must replace.
        def export():
            import secrets
            import urllib.error
            import urllib.request
            traceparent = headers.get("traceparent", "")
            parts = traceparent.split("-")
            now = time.time_ns()
            document = {"resourceSpans": [{
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "probe-agent"}},
                    {"key": "portcullis.session.id", "value": {"stringValue": "forged"}},
                ]},
                "scopeSpans": [{"scope": {"name": "probe"}, "spans": [{
                    "traceId": parts[1] if len(parts) == 4 else secrets.token_hex(16),
                    "spanId": secrets.token_hex(8),
                    "parentSpanId": parts[2] if len(parts) == 4 else "",
                    "name": "agent.reasoning",
                    "kind": 1,
                    "startTimeUnixNano": str(now - 1000000),
                    "endTimeUnixNano": str(now),
                    "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
                }]}],
            }]}
            request = urllib.request.Request(
                os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"],
                data=json.dumps(document).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return {"status": response.status, "traceparent": traceparent, "protocol": os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")}
            except urllib.error.HTTPError as error:
                return {"status": error.code, "traceparent": traceparent}
        return attempt(export)
    if action == "resolve":
        try:
            socket.getaddrinfo(body["host"], 443)
            return {"ok": True}
        except socket.gaierror as error:
            return {"error": "gaierror", "code": error.errno}
    if action == "unshare":
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.unshare(0x10000000)  # CLONE_NEWUSER
        return {"ok": True} if result == 0 else {"error": errno.errorcode[ctypes.get_errno()]}
    if action == "allocate":
        HELD.append(bytearray(body["megabytes"] * 1024 * 1024))
        for index in range(0, len(HELD[-1]), 4096):
            HELD[-1][index] = 1
        return {"ok": len(HELD[-1])}
    if action == "fork":
        children = []
        outcome = {}
        try:
            for _ in range(body["count"]):
                pid = os.fork()
                if pid == 0:
                    time.sleep(1)
                    os._exit(0)
                children.append(pid)
        except OSError as error:
            outcome = failure(error)
        # Reaped before answering: zombies would hold their pids, and the next request's thread needs one.
        for pid in children:
            os.waitpid(pid, 0)
        return {"started": len(children), **outcome}
    if action == "busy":
        BUSY_UNTIL[0] = time.time() + body["seconds"]
        return {"ok": True}
    if action == "burn":
        # A fixed amount of CPU time, however busy the machine is (at most 30 s of waiting for it).
        start, deadline = time.process_time(), time.time() + 30
        while time.process_time() - start < body["cpuSeconds"] and time.time() < deadline:
            pass
        return {"ok": True, "burned": time.process_time() - start}
    return {"error": "unknown action"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536
    disable_nagle_algorithm = True

    def log_message(self, *arguments):
        pass

    def reply(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def websocket(self):
        # Just enough of RFC 6455 for the tests: the handshake, then each text frame echoed with the session id.
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        session = self.headers.get("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", "")
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(self.rfile.read(2), "big")
            elif length == 127:
                length = int.from_bytes(self.rfile.read(8), "big")
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(byte ^ mask[index % 4] for index, byte in enumerate(self.rfile.read(length)))
            if opcode == 0x8:
                self.wfile.write(b"\x88\x00")
                self.wfile.flush()
                return
            reply = f"{session}:{data.decode()}".encode()
            self.wfile.write(bytes([0x81, len(reply)]) + reply if len(reply) < 126 else bytes([0x81, 126]) + len(reply).to_bytes(2, "big") + reply)
            self.wfile.flush()

    def do_GET(self):
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket()
            self.close_connection = True
        elif self.path == "/ping":
            busy = time.time() < BUSY_UNTIL[0]
            self.reply(200, {"status": "HealthyBusy" if busy else "Healthy", "time_of_last_update": int(time.time())})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/invocations":
            self.reply(404, {"error": "not found"})
            return
        self.reply(200, act(body, self.headers))


if __name__ == "__main__":
    host = "0.0.0.0" if os.environ.get("DOCKER_CONTAINER") else "127.0.0.1"
    ThreadingHTTPServer((host, int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
