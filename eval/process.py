"""A server started as a child process on loopback, for the tests and the benchmarks: its output goes
to a temporary log file whose tail is quoted when it fails, and it is ready once a URL answers 200."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from typing import IO


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LoopbackProcess:
    """The child process and its log; subclasses say what to run and which URL means ready."""

    name = "server"  # how messages name it
    stop_timeout = 10.0  # seconds between terminate and kill

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def _spawn(self, command: list[str], ready_url: str, timeout: float, error: type[Exception],
               env: dict[str, str] | None = None, poll_s: float = 0.25) -> None:
        """Start `command` and wait until `ready_url` answers 200; `error` (after stopping it) if the process
        exits or nothing answers within `timeout` seconds."""
        import httpx

        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (open while the server runs; closed in stop)
        self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                code = self._proc.poll()
                if code is not None:
                    raise error(f"{self.name} exited with code {code} at start-up: {self.log_tail()}")
                try:  # trust_env=False: a proxy configured in the environment must not see loopback calls
                    if httpx.get(ready_url, timeout=2.0, trust_env=False).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(poll_s)
            raise error(f"{self.name} did not answer {ready_url} within {timeout:g} s: {self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def log_tail(self, chars: int = 800) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - chars))
        return self._log.read().decode("utf-8", "replace").strip().replace("\n", " | ")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
