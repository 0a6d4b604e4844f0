"""Start and stop the npm stand-ins (``node_modules/.bin/...``) on free loopback ports.

Used by the test fixtures and `shared.stores.bench`. Servers are asked for port 0, so
the OS picks a free port with no race, and the port is read from the line the server
prints when it listens. Output is drained continuously (a full pipe would stall the
server) and its tail is kept for error messages.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["REPO_ROOT", "EmulatorUnavailable", "NodeServer", "node_bin", "run_cosmosdb_server", "run_node_server"]

REPO_ROOT = Path(__file__).resolve().parents[2]

_COSMOS_READY = re.compile(r"Ready to accept HTTPS? connections at (?P<host>[\d.]+):(?P<port>\d+)")


class EmulatorUnavailable(RuntimeError):
    """The npm package is not installed (run ``npm ci`` at the repository root)."""


@dataclass
class NodeServer:
    """A running server process and the ports it reported."""

    process: subprocess.Popen[str]
    ports: list[int] = field(default_factory=list)
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    def tail(self) -> str:
        """The last lines the server printed."""
        return "\n".join(self.output)


def node_bin(name: str, root: Path = REPO_ROOT) -> Path:
    """Path of an installed npm executable; `EmulatorUnavailable` if missing."""
    path = root / "node_modules" / ".bin" / name
    if not path.exists():
        raise EmulatorUnavailable(f"{path} is missing: run `npm ci` in {root}")
    return path


@contextlib.contextmanager
def run_node_server(
    argv: Sequence[str], ready: re.Pattern[str], ports_expected: int = 1, timeout_s: float = 30.0
) -> Iterator[NodeServer]:
    """Run `argv` until the context exits; yields once `ready` matched `ports_expected` lines.

    `ready` must have a ``port`` group. The process (and its children) get SIGTERM
    on exit, also when the body raises, and SIGKILL if still alive after 5 s.
    """
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = NodeServer(process)
    all_ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line.rstrip())
            match = ready.search(line)
            if match:
                server.ports.append(int(match["port"]))
                if len(server.ports) >= ports_expected:
                    all_ready.set()

    threading.Thread(target=drain, name=f"drain-{Path(argv[0]).name}", daemon=True).start()
    try:
        deadline = time.monotonic() + timeout_s
        while not all_ready.wait(0.05):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start (exit code {process.poll()}):\n{server.tail()}")
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    if process.stdout is not None:
        process.stdout.close()


def _wait_until_answering(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@contextlib.contextmanager
def run_cosmosdb_server(root: Path = REPO_ROOT, timeout_s: float = 30.0) -> Iterator[str]:
    """`@vercel/cosmosdb-server` over plain HTTP on 127.0.0.1; yields its endpoint URL.

    Plain HTTP (``--no-ssl``) rather than its self-signed HTTPS: the client keeps TLS
    verification on (nothing to disable), a fault-injecting proxy can sit in front of
    it, and each request skips a TLS handshake (the server closes every connection).
    The server advertises ``https://`` regional endpoints regardless, so clients must
    turn endpoint discovery off (`CosmosOptions.for_npm_server` does).
    """
    argv = [str(node_bin("cosmosdb-server", root)), "--port", "0", "--host", "127.0.0.1", "--no-ssl"]
    with run_node_server(argv, _COSMOS_READY, 1, timeout_s) as server:
        endpoint = f"http://127.0.0.1:{server.ports[0]}/"
        _wait_until_answering(endpoint, timeout_s)
        yield endpoint
