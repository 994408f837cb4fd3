"""Every AWS-facing test talks to a real HTTP endpoint: moto's server on 127.0.0.1."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import boto3
import pytest

from apilogs.demo.server import EmbeddedServer, start_server
from tests.support.demo_data import traffic, traffic_json  # noqa: F401  (fixtures)

REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def _fake_credentials() -> Iterator[None]:
    """No test may reach a real account, whatever the developer's shell holds."""
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    for key in _AWS_ENV:
        os.environ.pop(key, None)
    os.environ.update(
        # The topology cache is off in tests (each test builds its own APIs); the tests of the
        # cache turn it on, in a folder of their own.
        APILOGS_CACHE="off",
        APILOGS_CACHE_DIR=os.path.join(tempfile.gettempdir(), f"apilogs-test-cache-{os.getpid()}"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_ENV = (
    "APILOGS_CACHE",
    "APILOGS_CACHE_DIR",
    "APILOGS_CONFIG",
    "APILOGS_API_ID",
    "APILOGS_STAGE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture(scope="session")
def moto_server(_fake_credentials: None) -> Iterator[EmbeddedServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def endpoint(moto_server: EmbeddedServer) -> Iterator[str]:
    """The server's URL, with every resource of earlier tests forgotten."""
    moto_server.reset()
    yield moto_server.url


@pytest.fixture
def boto(endpoint: str) -> boto3.Session:
    return boto3.Session(region_name=REGION)


@pytest.fixture
def client(endpoint: str):  # type: ignore[no-untyped-def]
    """client('logs') → a boto3 client pointed at the test server."""

    def make(service: str, region: str = REGION):  # type: ignore[no-untyped-def]
        return boto3.client(service, region_name=region, endpoint_url=endpoint)

    return make
