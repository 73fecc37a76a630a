"""Drives the gateway with the real AWS SDK for Python (boto3/botocore), unmodified.

The endpoints come from AWS_ENDPOINT_URL_BEDROCK_AGENTCORE[_CONTROL], exactly as a user points boto3 at a
self-hosted gateway. The Portcullis API key replaces the SigV4 Authorization header in a botocore `before-send`
hook, the way AWS's own samples send OAuth bearer tokens.

Environment: ADMIN_KEY, INVOKE_KEY, AGENT_URL (a running echo agent). Prints one line per check and
"OK <n> checks" at the end; exits non-zero on the first failure.
"""
import json
import os
import sys
import uuid

import boto3
import botocore.exceptions

from checks import check, finish


def with_bearer(client, key):
    def hook(request, **kwargs):
        request.headers["Authorization"] = f"Bearer {key}"

    client.meta.events.register("before-send", hook)
    return client


session = boto3.session.Session(
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-used", region_name="us-east-1"
)
control = with_bearer(session.client("bedrock-agentcore-control"), os.environ["ADMIN_KEY"])
data = with_bearer(session.client("bedrock-agentcore"), os.environ["INVOKE_KEY"])
agent_url = os.environ["AGENT_URL"]

created = control.create_agent_runtime(
    agentRuntimeName="boto_echo",
    agentRuntimeArtifact={"containerConfiguration": {"containerUri": agent_url}},
    roleArn="arn:aws:iam::123456789012:role/AgentRole",
    networkConfiguration={"networkMode": "PUBLIC"},
    protocolConfiguration={"serverProtocol": "HTTP"},
    requestHeaderConfiguration={"requestHeaderAllowlist": ["X-Tenant-Id"]},
    description="created by boto3",
)
check(created["ResponseMetadata"]["HTTPStatusCode"] == 202, "CreateAgentRuntime answers 202")
runtime_id = created["agentRuntimeId"]
arn = created["agentRuntimeArn"]
check(arn == f"arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{runtime_id}", f"real-format ARN {arn}")
check(created["agentRuntimeVersion"] == "1" and created["status"] == "READY", "version 1, READY")
check(hasattr(created["createdAt"], "year"), "createdAt parses as a timestamp")
check(len(created["ResponseMetadata"]["RequestId"]) == 36, "x-amzn-RequestId surfaces as RequestId")

fetched = control.get_agent_runtime(agentRuntimeId=runtime_id)
check(fetched["agentRuntimeName"] == "boto_echo", "GetAgentRuntime returns the name")
check(fetched["description"] == "created by boto3", "GetAgentRuntime returns the description")
check(fetched["lifecycleConfiguration"]["idleRuntimeSessionTimeout"] == 900, "lifecycle defaults (900 s idle)")
check(fetched["requestHeaderConfiguration"]["requestHeaderAllowlist"] == ["X-Tenant-Id"], "allowlist stored")

updated = control.update_agent_runtime(
    agentRuntimeId=runtime_id,
    agentRuntimeArtifact={"containerConfiguration": {"containerUri": agent_url}},
    roleArn="arn:aws:iam::123456789012:role/AgentRole",
    networkConfiguration={"networkMode": "PUBLIC"},
    description="second version",
)
check(updated["agentRuntimeVersion"] == "2", "UpdateAgentRuntime makes version 2")
versions = control.list_agent_runtime_versions(agentRuntimeId=runtime_id)["agentRuntimes"]
check([v["agentRuntimeVersion"] for v in versions] == ["2", "1"], "ListAgentRuntimeVersions lists both")
listed = control.list_agent_runtimes()["agentRuntimes"]
check(any(r["agentRuntimeId"] == runtime_id for r in listed), "ListAgentRuntimes lists it")
paginator = control.get_paginator("list_agent_runtimes")
check(sum(len(page["agentRuntimes"]) for page in paginator.paginate(PaginationConfig={"PageSize": 1})) == len(listed), "paging")

endpoint = control.create_agent_runtime_endpoint(agentRuntimeId=runtime_id, name="prod", agentRuntimeVersion="1")
check(endpoint["targetVersion"] == "1" and endpoint["status"] == "READY", "CreateAgentRuntimeEndpoint pins version 1")
check(control.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="prod")["liveVersion"] == "1", "GetAgentRuntimeEndpoint")
names = [e["name"] for e in control.list_agent_runtime_endpoints(agentRuntimeId=runtime_id)["runtimeEndpoints"]]
check(names == ["DEFAULT", "prod"], "ListAgentRuntimeEndpoints")

session_id = str(uuid.uuid4()) + "-boto3"
response = data.invoke_agent_runtime(
    agentRuntimeArn=arn,
    qualifier="prod",
    runtimeSessionId=session_id,
    payload=json.dumps({"prompt": "hello from boto3"}),
)
check(response["statusCode"] == 200, "InvokeAgentRuntime statusCode 200")
check(response["runtimeSessionId"] == session_id, "the session id comes back")
check(response["contentType"] == "application/json", "contentType")
body = json.loads(response["response"].read())
check(body["echo"] == {"prompt": "hello from boto3"}, "the agent echoed the payload")
check(body["sessionId"] == session_id, "the agent saw the session id")
check("authorization" not in body["headers"], "the API key never reached the agent")

streamed = data.invoke_agent_runtime(
    agentRuntimeArn=arn, runtimeSessionId=session_id, payload=json.dumps({"stream": True, "count": 3, "intervalMs": 10})
)
check(streamed["contentType"] == "text/event-stream", "streaming contentType")
events = [line for line in streamed["response"].iter_lines() if line.startswith(b"data: ")]
check(len(events) == 4, f"3 events and a final one, got {len(events)}")
check(json.loads(events[0][6:])["index"] == 0, "SSE frames pass unchanged")

stopped = data.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session_id)
check(stopped["ResponseMetadata"]["HTTPStatusCode"] == 200 and stopped["runtimeSessionId"] == session_id, "StopRuntimeSession")
try:
    data.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session_id)
    check(False, "a second stop must fail")
except data.exceptions.ResourceNotFoundException:
    check(True, "a stopped session is gone: ResourceNotFoundException")

try:
    data.invoke_agent_runtime(agentRuntimeArn=arn.replace(runtime_id, "missing-AAAAAAAAAA"), payload="{}")
    check(False, "an unknown runtime must fail")
except data.exceptions.ResourceNotFoundException:
    check(True, "unknown runtime: ResourceNotFoundException")

try:
    data.invoke_agent_runtime(agentRuntimeArn=arn, qualifier="bad-name!", payload="{}")
    check(False, "a bad qualifier must fail")
except data.exceptions.ValidationException as error:
    check(error.response["Error"]["Code"] == "ValidationException", "bad qualifier: ValidationException")

anonymous = session.client("bedrock-agentcore")
with_bearer(anonymous, "pcs_aaaaaaaaaaaa_" + "a" * 40)
try:
    anonymous.invoke_agent_runtime(agentRuntimeArn=arn, payload="{}")
    check(False, "a wrong key must fail")
except botocore.exceptions.ClientError as error:
    check(error.response["Error"]["Code"] == "UnauthorizedException", "wrong key: UnauthorizedException")
    check(error.response["ResponseMetadata"]["HTTPStatusCode"] == 401, "wrong key: 401")

try:
    with_bearer(session.client("bedrock-agentcore-control"), os.environ["INVOKE_KEY"]).list_agent_runtimes()
    check(False, "an invoke-only key must not use the control plane")
except botocore.exceptions.ClientError as error:
    check(error.response["Error"]["Code"] == "AccessDeniedException", "control plane needs an admin key")

deleted_endpoint = control.delete_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName="prod")
check(deleted_endpoint["status"] == "DELETING", "DeleteAgentRuntimeEndpoint")
deleted = control.delete_agent_runtime(agentRuntimeId=runtime_id)
check(deleted["status"] == "DELETING", "DeleteAgentRuntime")
try:
    control.get_agent_runtime(agentRuntimeId=runtime_id)
    check(False, "a deleted runtime must be gone")
except control.exceptions.ResourceNotFoundException:
    check(True, "deleted runtime: ResourceNotFoundException")

finish()
