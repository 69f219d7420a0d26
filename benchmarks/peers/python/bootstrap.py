#!/usr/bin/env python3
"""COMPARISON BASELINE - never deployed, not part of the platform.

The inference proxy written the way the usual AWS sample writes it
(boto3 client at module level, invoke_endpoint, return the body), run as a
Lambda custom runtime: this file is the `bootstrap`, with a minimal Runtime
API loop (the real awslambdaric is not installable here). benchmarks/
measures it side by side with functions/infer behind the same local
Runtime API and the same fake endpoint.
"""
import base64
import http.client
import json
import os

import boto3

ENDPOINT_NAME = os.environ["ENDPOINT_NAME"]
runtime = boto3.client("sagemaker-runtime")


def lambda_handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    content_type = (event.get("headers") or {}).get("Content-Type", "text/csv")
    response = runtime.invoke_endpoint(
        EndpointName=ENDPOINT_NAME, ContentType=content_type, Body=body
    )
    result = response["Body"].read().decode()
    return {
        "statusCode": 200,
        "headers": {"Content-Type": response.get("ContentType", "text/csv")},
        "body": result,
    }


def main():
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    conn = http.client.HTTPConnection(api)
    base = "/2018-06-01/runtime/invocation/"
    while True:
        conn.request("GET", base + "next")
        resp = conn.getresponse()
        event = json.loads(resp.read())
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        trace = resp.getheader("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        try:
            out = json.dumps(lambda_handler(event, None)).encode()
            path = base + request_id + "/response"
        except Exception as exc:  # reported to the Runtime API, as the RIC does
            out = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
            path = base + request_id + "/error"
        conn.request("POST", path, body=out, headers={"Content-Type": "application/json"})
        conn.getresponse().read()


if __name__ == "__main__":
    main()
