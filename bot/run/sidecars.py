"""Helper processes that `compass serve` runs beside itself (the worker, the scheduler).

They are restarted when they die (a crash, the OOM killer) and stopped when serve ends;
they stop by themselves when serve is killed (they watch its pid, see ``--parent-pid``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from types import TracebackType

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds
MAX_BACKOFF = 60.0  # seconds between restarts of a sidecar that keeps dying


class Sidecars:
    def __init__(self, commands: list[list[str]]) -> None:
        self._commands = commands
        self._procs: list[subprocess.Popen[bytes]] = []
        self._owner = os.getpid()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="compass-sidecars", daemon=True)

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", *command])

    def __enter__(self) -> Sidecars:
        self._procs = [self._start(command) for command in self._commands]
        if self._procs:
            self._watchdog.start()
        return self

    def _watch(self) -> None:
        backoff = [CHECK_EVERY] * len(self._procs)
        while not self._stop.wait(CHECK_EVERY):
            for i, proc in enumerate(self._procs):
                # poll() also notices a child that gunicorn's master reaped (waitpid(-1)) before us.
                if proc.poll() is None:
                    backoff[i] = CHECK_EVERY
                    continue
                name = self._commands[i][0]
                log.warning("the %s process exited (%s); restarting it in %.0f s", name, proc.returncode, backoff[i])
                if self._stop.wait(backoff[i]):
                    return
                self._procs[i] = self._start(self._commands[i])
                backoff[i] = min(backoff[i] * 2, MAX_BACKOFF)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        # gunicorn's forked workers unwind through here too when they exit; only the
        # process that started the sidecars may stop them.
        if os.getpid() != self._owner:
            return
        self._stop.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=5)
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
