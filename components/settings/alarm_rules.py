"""Rules for `alarms.subscriptions`: each endpoint must be one its SNS protocol accepts (SNS Subscribe API)."""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

# What SNS's Subscribe takes as Endpoint per Protocol (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html).
ENDPOINTS = {
    "email": (r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", "an email address"),
    "email-json": (r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", "an email address"),
    "https": (r"https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?", "an https:// URL"),
    "sms": (r"\+[1-9]\d{6,14}", "a phone number in E.164 form, e.g. +14155550100"),
    "sqs": (r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?", "an SQS queue ARN"),
    "lambda": (r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?",
               "a Lambda function ARN"),
}
PROTOCOLS = tuple(ENDPOINTS)


def alarm_problems(alarms: Mapping[str, Any]) -> list[str]:
    problems = []
    for index, sub in enumerate(alarms.get("subscriptions", [])):
        pattern, what = ENDPOINTS[sub["protocol"]]
        if not re.fullmatch(pattern, sub["endpoint"], flags=re.ASCII):
            problems.append(f"alarms.subscriptions[{index}].endpoint: {json.dumps(sub['endpoint'])} is not valid for "
                            f"protocol {sub['protocol']}; allowed: {what}")
    return problems
