"""The local Lambda Invoke API, driven with boto3 (pinned in requirements.txt) as a Python
pipeline would: every way of naming a function, the three invocation types, Lambda's
payload limit, an unknown function, and an event the function cannot read.

Usage: invoke_api_check.py <base url> <api key>   (make test runs it against its server)
"""

import json
import sys

import boto3
from botocore.config import Config

ENDPOINT, KEY = sys.argv[1], sys.argv[2]

lam = boto3.client(
    "lambda",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}),
)


def event(path, method="GET", body=None):
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1"}, "stage": "$default"},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


steps = 0


def check(ok, what):
    global steps
    if not ok:
        sys.exit(f"FAILED: {what}")
    steps += 1
    print(f"ok: {what}")


listing = json.dumps(event("/api/credentials"))
for name in [
    "list-credentials",
    "credentials-api-dev-list-credentials",
    "123456789012:function:credentials-api-prod-list-credentials",
    "arn:aws:lambda:eu-west-1:123456789012:function:credentials-api-staging-list-credentials:$LATEST",
]:
    out = lam.invoke(FunctionName=name, Payload=listing)
    result = json.loads(out["Payload"].read())
    check(out["StatusCode"] == 200 and "FunctionError" not in out and result["statusCode"] == 200,
          f"RequestResponse by {name!r}: 200 and the function's answer")

out = lam.invoke(FunctionName="list-credentials", InvocationType="Event", Payload=listing)
check(out["StatusCode"] == 202 and out["Payload"].read() == b"", "Event: 202, no body")
out = lam.invoke(FunctionName="list-credentials", InvocationType="DryRun", Payload=listing)
check(out["StatusCode"] == 204, "DryRun: 204")

try:
    lam.invoke(FunctionName="no-such-function", Payload=listing)
    check(False, "an unknown function is refused")
except lam.exceptions.ResourceNotFoundException:
    check(True, "an unknown function: ResourceNotFoundException")

try:
    lam.invoke(FunctionName="list-credentials", Payload=b" " * (6 * 1024 * 1024 + 1))
    check(False, "a payload over 6 MB is refused")
except lam.exceptions.RequestTooLargeException:
    check(True, "over 6 MB: RequestTooLargeException")

malformed = event("/api/credentials")
malformed["rawQueryString"] = "a b"
malformed["headers"]["host"] = "bad host"
out = lam.invoke(FunctionName="list-credentials", Payload=json.dumps(malformed))
check(out["StatusCode"] == 200 and out.get("FunctionError") == "Unhandled",
      "an event the function cannot read: a function error (Unhandled)")

print(f"invoke API: {steps} checks passed with boto3")
