"""Fixtures of the cluster tests: moto's standalone S3 server, a real HTTP S3 API on loopback
started once per session, and a fresh bucket in it for each test."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.cluster.store import StoreLocation
from tests.ports import free_port, wait_for_port

REGION = "us-east-1"
# moto takes any credentials; real ones never reach a test.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_s3_server(port: int | None = None) -> S3Server:
    """moto's S3 server on ``port`` (or a free one), accepting connections; the caller stops it."""
    port = port or free_port()
    # Its request log goes nowhere: a pipe nobody reads would fill and stall it.
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    try:
        wait_for_port(port, process, "moto's S3 server")
    except BaseException:
        server.stop()
        raise
    return server


def create_bucket(endpoint: str, bucket: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=10) as answer:
        assert answer.status == 200


def location_in(endpoint: str, bucket: str, prefix: str = "builds") -> StoreLocation:
    return StoreLocation.parse(
        f"s3://{bucket}/{prefix}",
        endpoint_url=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The endpoint URL of moto's S3 server, shared by the session."""
    server = start_s3_server()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def build_store_location(s3_server: str) -> StoreLocation:
    """A new empty bucket of its own (under the prefix ``builds``) for one test."""
    bucket = f"builds-{uuid.uuid4().hex[:16]}"
    create_bucket(s3_server, bucket)
    return location_in(s3_server, bucket)


@pytest.fixture
def s3_server_to_stop() -> Iterator[S3Server]:
    """A second S3 server of the test's own, for a test to stop; stopped at the end anyway."""
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()
