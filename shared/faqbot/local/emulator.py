"""The embedded AWS emulator: moto's server on 127.0.0.1, in this process or as a child process.

`faqbot run` runs it in-process (one process to stop, nothing left behind). Tests run it as a
child process, so moto's in-process `mock_aws` (which resets moto's global state) in other
tests cannot wipe it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import boto3
import httpx
from botocore.config import Config

from faqbot.local.handlers import LOCAL_REGION

DEFAULT_PORT = 4566
PORT_ENV = "FAQBOT_EMULATOR_PORT"
HOST = "127.0.0.1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_START_TIMEOUT_SECONDS = 30.0


class PortInUse(RuntimeError):
    """The port is taken (another `faqbot run`?)."""


def emulator_port() -> int:
    """The port `faqbot run` and `faqbot --local` agree on."""
    return int(os.environ.get(PORT_ENV) or DEFAULT_PORT)


def endpoint_url(port: int, host: str = HOST) -> str:
    return f"http://{host}:{port}"


def local_aws_env(endpoint: str) -> dict[str, str]:
    """Environment variables that point boto3 (and so `faqbot.aws`) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        **DUMMY_CREDENTIALS,
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_port_free(port: int, host: str = HOST, *, what: str = "port") -> None:
    """Fail early and clearly if something listens on the port (the servers would fail in a thread)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers bind: connections of a previous run in TIME_WAIT do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"{what} {host}:{port} is already in use ({exc.strerror})") from exc


class Emulator:
    """moto's server on one port; `port=0` picks a free one."""

    def __init__(self, port: int = DEFAULT_PORT, *, in_process: bool = True) -> None:
        self.port = port or free_port()
        self.in_process = in_process
        self._server: Any = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return endpoint_url(self.port)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> Emulator:
        ensure_port_free(self.port, what="emulator port (set FAQBOT_EMULATOR_PORT or --emulator-port)")
        if self.in_process:
            self._start_thread()
        else:
            self._start_process()
        self._wait_ready()
        return self

    def _start_thread(self) -> None:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request; the stack prints its own, shorter lines.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()

    def _start_process(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C reaches us, and we stop it in order.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"the emulator exited with code {self._process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/moto-api/", timeout=1.0).status_code < 500:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the emulator did not answer on {self.url} within {_START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._process is not None:
            stop_process(self._process, timeout=5)
            self._process = None

    def reset(self) -> None:
        """Forget every resource and item (moto's reset API)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10.0).raise_for_status()

    def client(self, service: str) -> Any:
        """A boto3 client bound to this emulator, whatever the process environment says."""
        return boto3.client(service, **boto3_kwargs(self.url))  # type: ignore[call-overload]

    def resource(self, service: str) -> Any:
        return boto3.resource(service, **boto3_kwargs(self.url))  # type: ignore[call-overload]

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_CONFIG = Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})


def stop_process(process: subprocess.Popen[Any], *, timeout: float) -> None:
    """Terminate a local server process; kill it if it has not exited after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def boto3_kwargs(url: str) -> dict[str, Any]:
    """What a boto3 client or resource needs to reach a local server, whatever the environment says."""
    return {"endpoint_url": url, "region_name": LOCAL_REGION, "config": _CONFIG, **_credentials()}


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it if the parent dies, so no emulator outlives a killed stack."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
