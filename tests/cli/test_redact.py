"""`--debug` never prints a credential: botocore's debug log of every request (headers, URLs)
goes through `redact` before it reaches stderr."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from apilogs.cli.redact import MASK, RedactingFormatter, redact
from tests.support.demo_data import Traffic

TOKEN = "IQoJb3JpZ2luX2VjEDoaCXVzLWVhc3QtMSJHMEUCIQD/x+y=="
KEY_ID = "ASIAQWERTYUIOPASDFGH"
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


@pytest.mark.parametrize(
    "line",
    [
        # botocore's "Sending http request" line: headers as a dict of bytes.
        "Sending http request: <AWSPreparedRequest stream_output=False, method=POST, "
        "url=https://logs.us-east-1.amazonaws.com/, headers={'X-Amz-Target': b'Logs.Filter', "
        f"'X-Amz-Security-Token': b'{TOKEN}', 'Authorization': b'AWS4-HMAC-SHA256 "
        f"Credential={KEY_ID}/20240101/us-east-1/logs/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}'}}>",
        # The canonical request and string to sign, header by header.
        f"x-amz-security-token:{TOKEN}",
        f"X-Amz-Security-Token: {TOKEN}",
        # A presigned URL.
        f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY_ID}"
        f"%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}"
        f"&x-amz-security-token={TOKEN}&X-Amz-Expires=60",
    ],
)
def test_tokens_key_ids_and_signatures_are_masked(line: str) -> None:
    masked = redact(line)
    assert TOKEN not in masked and KEY_ID not in masked and SIGNATURE not in masked, masked
    assert MASK in masked


def test_what_is_not_a_credential_is_kept() -> None:
    line = "Making request for OperationModel(name=FilterLogEvents) with params: {'limit': 10000}"
    assert redact(line) == line
    url = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60"
    assert redact(url) == url
    # The rest of the Authorization header says which headers were signed: kept.
    assert "SignedHeaders=host;x-amz-date" in redact(
        f"Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/x, SignedHeaders=host;x-amz-date, "
        f"Signature={SIGNATURE}"
    )


def test_access_key_ids_anywhere_and_secret_keys_by_name() -> None:
    masked = redact(f"credentials found: AKIAIOSFODNN7EXAMPLE and {KEY_ID}.")
    assert "AKIAIOSFODNN7EXAMPLE" not in masked and KEY_ID not in masked
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for text in (
        f"aws_secret_access_key = {secret}",
        f'{{"SecretAccessKey": "{secret}"}}',
        f"{{'aws_secret_access_key': '{secret}'}}",
    ):
        assert secret not in redact(text), text


def test_the_values_given_are_masked_literally_wherever_they_appear() -> None:
    secret = "my-very-own-secret-value"
    assert redact(f"x{secret}y and {secret}", [secret]) == f"x{MASK}y and {MASK}"
    # Too short to be a credential: masking it would mask ordinary words.
    assert redact("testing the demo", ["demo", "testing"]) == "testing the demo"


def test_the_formatter_masks_the_final_text_arguments_included() -> None:
    record = logging.LogRecord(
        "botocore.endpoint", logging.DEBUG, __file__, 1, "headers=%r", ({"Token": TOKEN},), None
    )
    text = RedactingFormatter("%(name)s %(message)s", secrets=[TOKEN]).format(record)
    assert TOKEN not in text and text.startswith("botocore.endpoint headers=")


# --- end to end: `apilogs --debug` against the test server ----------------------------------------

MARK_KEY_ID = "AKIAMARKERMARKER0042"
MARK_SECRET = "secret-marker-4a1c9e77b0d3"
MARK_TOKEN = "session-token-marker-7f3e2d1c0b9a"


@pytest.mark.parametrize("command", ["get", "show"])
def test_debug_logs_every_request_and_no_credential(traffic: Traffic, command: str) -> None:
    app = traffic.app
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": MARK_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": MARK_SECRET,
        "AWS_SESSION_TOKEN": MARK_TOKEN,
        "AWS_DEFAULT_REGION": traffic.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    what = [command] if command == "get" else [command, traffic.rest()[0].request_id]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "apilogs",
            "--debug",
            *what,
            "-a",
            app.rest_api_id,
            "-t",
            app.rest_stage,
            "-s",
            str(traffic.start_ms - 60_000),
            "-e",
            str(traffic.end_ms + 60_000),
            "--endpoint-url",
            traffic.url,
            "--max-rps",
            "0",
            "--no-pager" if command == "show" else "--no-hold-back",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    err = proc.stderr
    # The debug log is there, with the headers that carry the credentials …
    assert "DEBUG:botocore" in err and "X-Amz-Security-Token" in err and "Signature=" in err
    # … and not one of them.
    for marker in (MARK_KEY_ID, MARK_SECRET, MARK_TOKEN):
        assert marker not in err
    assert MASK in err
