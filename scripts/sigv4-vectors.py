"""Writes tests/fixtures/sigv4-botocore.json: requests signed by botocore's own SigV4 signer
(header and presigned query forms), so the mock's verifier is tested against an
implementation it does not share code with. Run: python3 scripts/sigv4-vectors.py
"""

import datetime
import json
import pathlib
from unittest import mock

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sigv4-botocore.json"
WHEN = datetime.datetime(2026, 3, 20, 12, 0, 0)
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

METERING = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSMPMeteringService.MeterUsage"}
CBOR = {"Content-Type": "application/cbor", "Accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
BODY = '{"ProductCode":"p","Timestamp":1774008000,"UsageDimension":"hosts","UsageQuantity":1}'

CASES = [
    # name, method, url, headers, body, service, region, session token, presigned
    ("awsjson-root", "POST", "http://127.0.0.1:8787/", METERING, BODY, "aws-marketplace", "us-east-1", None, False),
    ("awsjson-namespace", "POST", "http://127.0.0.1:8787/ns/team-a/", METERING, BODY, "aws-marketplace", "eu-west-1", None, False),
    ("session-token", "POST", "http://127.0.0.1:8787/ns/ci/", METERING, BODY, "aws-marketplace", "us-west-2", "FQoGZXIvYXdzEXAMPLE//token+with/slashes==", False),
    ("cbor-path", "POST", "http://127.0.0.1:8787/service/AWSMPEntitlementService/operation/GetEntitlements", CBOR, "\u00bf", "aws-marketplace", "us-east-1", None, False),
    ("query-sorted-and-encoded", "GET", "http://127.0.0.1:8787/ns/x/?b=2&a=1&a=0&space=a%20b&plus=a%2Bb&tilde=~x&slash=a%2Fb", {}, "", "aws-marketplace", "us-east-1", None, False),
    ("header-whitespace", "POST", "http://127.0.0.1:8787/", {**METERING, "X-Extra": "  two   spaces  here "}, BODY, "aws-marketplace", "ap-southeast-2", None, False),
    ("empty-body", "POST", "http://127.0.0.1:8787/", METERING, "", "aws-marketplace", "us-east-1", None, False),
    ("unicode-body", "POST", "http://127.0.0.1:8787/", METERING, '{"ProductCode":"\u00fc\u00df\u2603"}', "aws-marketplace", "us-east-1", None, False),
    ("presigned-get", "GET", "http://127.0.0.1:8787/ns/team-a/?x=1", {}, "", "aws-marketplace", "us-east-1", None, True),
    ("presigned-session", "GET", "http://127.0.0.1:8787/_mock/clock?a=b", {}, "", "aws-marketplace", "us-east-1", "session/token=", True),
]


def sign(name, method, url, headers, body, service, region, token, presigned):
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body.encode())
    credentials = Credentials(KEY, SECRET, token)
    signer = SigV4QueryAuth(credentials, service, region, expires=300) if presigned else SigV4Auth(credentials, service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        signer.add_auth(request)
    prepared = request.prepare()
    host, _, rest = prepared.url.partition("://")[2].partition("/")
    path, _, query = rest.partition("?")
    # botocore signs the Host its HTTP client sends; the request carries it as that client would.
    headers = {"Host": host, **prepared.headers}
    return {
        "name": name,
        "method": method,
        "path": "/" + path,
        "query": query,
        "headers": sorted([k, v] for k, v in headers.items()),
        "body": body,
        "secret": SECRET,
    }


def main():
    vectors = [sign(*case) for case in CASES]
    OUT.write_text(json.dumps({"generator": "botocore", "vectors": vectors}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(vectors)} vectors to {OUT}")


if __name__ == "__main__":
    main()
