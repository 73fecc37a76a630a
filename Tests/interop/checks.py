"""What the interoperability scripts share: numbered checks that stop at the first failure, and AWS errors."""
import sys

import botocore.exceptions

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
