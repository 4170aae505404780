"""Seller code under test would call Marketplace Metering; here boto3 does it directly."""

import json
import time
import urllib.request

import boto3


def test_meter_usage_is_recorded_once_per_hour(fresh_mock):
    client = boto3.client("meteringmarketplace")
    hour = int(time.time())
    first = client.meter_usage(
        ProductCode="demo-ami-product", Timestamp=hour, UsageDimension="hosts", UsageQuantity=2,
    )
    again = client.meter_usage(
        ProductCode="demo-ami-product", Timestamp=hour, UsageDimension="hosts", UsageQuantity=2,
    )
    assert again["MeteringRecordId"] == first["MeteringRecordId"]
    usage = json.load(urllib.request.urlopen(fresh_mock + "/_mock/usage"))
    assert len(usage["records"]) == 1


def test_batch_meter_usage_for_a_demo_customer(fresh_mock):
    client = boto3.client("meteringmarketplace")
    answer = client.batch_meter_usage(
        ProductCode="demo-saas-product",
        UsageRecords=[{
            "Timestamp": int(time.time()),
            "CustomerIdentifier": "demo-customer-1",
            "Dimension": "users",
            "Quantity": 5,
        }],
    )
    assert answer["Results"][0]["Status"] == "Success"
