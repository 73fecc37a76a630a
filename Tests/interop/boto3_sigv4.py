"""Drives the gateway with boto3/botocore signing every request with AWS Signature Version 4, unmodified.

Environment: GATEWAY_URL, ADMIN_KEY_ID/ADMIN_SECRET (an admin access key that may act for users),
INVOKER_KEY_ID/INVOKER_SECRET (invoke-only), AGENT_URL (a test agent that answers with a running count, the
byte count and SHA-256 of the body it got), JWT_RUNTIME_ARN (a runtime with a customJWTAuthorizer).
Prints one line per check and "OK <n> checks" at the end; exits non-zero on the first failure.
"""
import datetime
import hashlib
import json
import os
import socket
import urllib.parse
import uuid

import botocore.auth
import botocore.exceptions
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from checks import check, error_of, finish, sigv4_clients

endpoint = os.environ["GATEWAY_URL"]
clients = sigv4_clients
control, data = clients(os.environ["ADMIN_KEY_ID"], os.environ["ADMIN_SECRET"])
_, invoker = clients(os.environ["INVOKER_KEY_ID"], os.environ["INVOKER_SECRET"])

# The control plane, signed.
created = control.create_agent_runtime(
    agentRuntimeName="sigv4_echo",
    agentRuntimeArtifact={"containerConfiguration": {"containerUri": os.environ["AGENT_URL"]}},
    roleArn="arn:aws:iam::123456789012:role/AgentRole",
    networkConfiguration={"networkMode": "PUBLIC"},
)
check(created["ResponseMetadata"]["HTTPStatusCode"] == 202, "CreateAgentRuntime signed with SigV4 answers 202")
arn = created["agentRuntimeArn"]
fetched = control.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])
check(fetched["agentRuntimeName"] == "sigv4_echo", "GetAgentRuntime signed with SigV4")
check(any(r["agentRuntimeId"] == created["agentRuntimeId"] for r in control.list_agent_runtimes()["agentRuntimes"]), "ListAgentRuntimes (POST, empty body) signed with SigV4")
code, status, _ = error_of(lambda: clients(os.environ["INVOKER_KEY_ID"], os.environ["INVOKER_SECRET"])[0].list_agent_runtimes())
check((code, status) == ("AccessDeniedException", 403), f"an invoke-only key is refused by the control plane ({code})")


def invoke(client, payload, **extra):
    reply = client.invoke_agent_runtime(agentRuntimeArn=arn, payload=payload, **extra)
    return reply, json.loads(reply["response"].read())


# The data plane, signed (the ARN travels percent-encoded, so the canonical URI is encoded twice).
reply, seen = invoke(data, json.dumps({"prompt": "hi"}), contentType="application/json")
check(seen["sha256"] == hashlib.sha256(json.dumps({"prompt": "hi"}).encode()).hexdigest(), "InvokeAgentRuntime signed with SigV4 reaches the agent intact")
check("authorization" not in seen["headers"] and "x-amz-date" not in seen["headers"], "the signature headers are not forwarded")
count = seen["count"]

big = os.urandom(3 * 1024 * 1024)
_, seen = invoke(data, big)
check(seen["bytes"] == len(big) and seen["sha256"] == hashlib.sha256(big).hexdigest(), "a 3 MB signed body is checked, then forwarded byte for byte")
count = seen["count"]

_, seen = invoke(data, b"{}", runtimeUserId="user-42")
check(seen["count"] == count + 1, "runtimeUserId is honoured for a key allowed to act for users")
count = seen["count"]
code, status, _ = error_of(lambda: invoke(invoker, b"{}", runtimeUserId="user-42"))
check((code, status) == ("AccessDeniedException", 403), f"runtimeUserId from a key not allowed to act for users is refused ({code})")

session_id = str(uuid.uuid4()) + "-sigv4"
invoke(data, b"{}", runtimeSessionId=session_id)
stopped = data.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session_id)
check(stopped["ResponseMetadata"]["HTTPStatusCode"] == 200, "StopRuntimeSession signed with SigV4")

# What must fail.
_, wrong = clients(os.environ["ADMIN_KEY_ID"], os.environ["ADMIN_SECRET"] + "x")
code, status, _ = error_of(lambda: invoke(wrong, b"{}"))
check((code, status) == ("InvalidSignatureException", 403), f"a wrong secret is refused ({code})")

_, unknown = clients("PCAKAAAAAAAAAAAAAAAA", os.environ["ADMIN_SECRET"])
code, status, _ = error_of(lambda: invoke(unknown, b"{}"))
check((code, status) == ("UnrecognizedClientException", 403), f"an unknown access key is refused ({code})")

current = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda: current() - datetime.timedelta(minutes=10)
try:
    code, status, message = error_of(lambda: invoke(data, b"{}"))
finally:
    botocore.auth.get_current_datetime = current
check((code, status) == ("InvalidSignatureException", 403) and "expired" in message, f"a request signed 10 minutes ago is refused ({code}: {message})")

_, tampering = clients(os.environ["ADMIN_KEY_ID"], os.environ["ADMIN_SECRET"])


def tamper(request, **kwargs):
    request.body = b'{"prompt":"evil"}'


tampering.meta.events.register("before-send.bedrock-agentcore.InvokeAgentRuntime", tamper)
code, status, _ = error_of(lambda: invoke(tampering, b'{"prompt":"good"}'))
check((code, status) == ("InvalidSignatureException", 403), f"a body changed after signing is refused ({code})")
_, seen = invoke(data, b"{}")
check(seen["count"] == count + 2, "neither the tampered request nor any refused one reached the agent")

code, status, _ = error_of(lambda: data.invoke_agent_runtime(agentRuntimeArn=os.environ["JWT_RUNTIME_ARN"], payload=b"{}"))
check((code, status) == ("AccessDeniedException", 403), f"a JWT runtime refuses SigV4 ({code})")


# A presigned WebSocket URL, built the way the bedrock-agentcore SDK builds one (SigV4 query authentication).
def upgrade(url):
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        target = parts.path + "?" + parts.query
        connection.sendall(
            (
                f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        answer = connection.recv(4096).decode(errors="replace")
        return answer.split("\r\n")[0] + " " + answer.split("\r\n\r\n")[-1][:300]


def presigned(session):
    query = urllib.parse.urlencode({"qualifier": "DEFAULT", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session})
    request = AWSRequest(method="GET", url=f"{endpoint}/runtimes/{urllib.parse.quote(arn, safe='')}/ws?{query}")
    SigV4QueryAuth(Credentials(os.environ["ADMIN_KEY_ID"], os.environ["ADMIN_SECRET"]), "bedrock-agentcore", "us-east-1", expires=300).add_auth(request)
    return request.url


url = presigned(str(uuid.uuid4()) + "-ws")
status_line = upgrade(url)
check(" 101 " in status_line + " ", f"a presigned WebSocket URL is accepted ({status_line})")
tampered_url = url.replace("-ws", "-wz")
check(" 403 " in upgrade(tampered_url), "a presigned URL whose session id was changed is refused")

finish()
