"""Deploys agent code from S3 through the gateway's control plane with boto3, unmodified, as a user would: create,
poll GetAgentRuntime until READY, invoke; a missing object ends in CREATE_FAILED with the reason.

Environment: ADMIN_KEY, INVOKE_KEY (Portcullis API keys, sent as bearer tokens). Prints "OK <n> checks"."""
import json
import os
import time
import uuid

import boto3

from checks import check, finish


def with_bearer(client, key):
    client.meta.events.register("before-send", lambda request, **kwargs: request.headers.__setitem__("Authorization", f"Bearer {key}"))
    return client


session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-used", region_name="us-east-1")
control = with_bearer(session.client("bedrock-agentcore-control"), os.environ["ADMIN_KEY"])
data = with_bearer(session.client("bedrock-agentcore"), os.environ["INVOKE_KEY"])


def create(name, key):
    return control.create_agent_runtime(
        agentRuntimeName=name,
        agentRuntimeArtifact={"codeConfiguration": {
            "code": {"s3": {"bucket": "agent-code", "prefix": key}},
            "runtime": "PYTHON_3_11",
            "entryPoint": ["main.py"],
        }},
        roleArn="arn:aws:iam::123456789012:role/AgentRole",
        networkConfiguration={"networkMode": "PUBLIC"},
        environmentVariables={"GREETING": "deployed from S3"},
    )


def settle(runtime_id):
    deadline = time.time() + 120
    while True:
        runtime = control.get_agent_runtime(agentRuntimeId=runtime_id)
        if runtime["status"] not in ("CREATING", "UPDATING") or time.time() > deadline:
            return runtime
        time.sleep(0.2)


created = create("from_s3", "probe/v1 release.zip")
check(created["status"] == "CREATING", f"CreateAgentRuntime answers CREATING ({created['status']})")
runtime = settle(created["agentRuntimeId"])
check(runtime["status"] == "READY", f"the S3 code deploys: {runtime['status']} {runtime.get('failureReason', '')}")
code = runtime["agentRuntimeArtifact"]["codeConfiguration"]
check(code["code"]["s3"] == {"bucket": "agent-code", "prefix": "probe/v1 release.zip"}, "GetAgentRuntime shows the S3 location")
check(code["runtime"] == "PYTHON_3_11" and code["entryPoint"] == ["main.py"], "and the runtime and entry point")

session_id = f"s3-session-{uuid.uuid4()}"
answer = data.invoke_agent_runtime(
    agentRuntimeArn=created["agentRuntimeArn"],
    runtimeSessionId=session_id,
    payload=json.dumps({"action": "echo", "variable": "GREETING"}),
)
body = json.loads(answer["response"].read())
check(answer["runtimeSessionId"] == session_id, "the session id comes back")
check(body["session"] == session_id and body["environment"] == "deployed from S3", f"the deployed code answers in its sandbox: {body}")
check(body["cwd"] == "/app" and body["docker"] == "1", "with the container contract")

missing = create("missing_in_s3", "probe/absent.zip")
runtime = settle(missing["agentRuntimeId"])
check(runtime["status"] == "CREATE_FAILED", f"a missing object fails the deployment ({runtime['status']})")
reason = runtime.get("failureReason", "")
check("s3://agent-code/probe/absent.zip" in reason and "404" in reason and "NoSuchKey" in reason, f"the reason names the object and S3's error: {reason}")
finish()
