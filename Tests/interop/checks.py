"""What the interoperability scripts share: numbered checks that stop at the first failure, AWS errors, and
SigV4-signing boto3 clients for the gateway."""
import os
import sys

import boto3
import botocore.exceptions
from botocore.config import Config

_count = 0


def check(condition, message):
    """Prints "ok: …", or "FAILED: …" and exits non-zero."""
    global _count
    if not condition:
        print(f"FAILED: {message}", flush=True)
        sys.exit(1)
    _count += 1
    print(f"ok: {message}", flush=True)


def finish():
    print(f"OK {_count} checks", flush=True)


def error_of(call):
    """(code, HTTP status, message) of the AWS error `call` raises, or (None, 200, "")."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"].get("Message", "")
    return None, 200, ""


def sigv4_clients(key_id, secret):
    """The control-plane and data-plane boto3 clients for an access key, at GATEWAY_URL, one attempt per call."""
    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1")
    once = Config(retries={"max_attempts": 1, "mode": "standard"})
    endpoint = os.environ["GATEWAY_URL"]
    return (
        session.client("bedrock-agentcore-control", endpoint_url=endpoint, config=once),
        session.client("bedrock-agentcore", endpoint_url=endpoint, config=once),
    )
