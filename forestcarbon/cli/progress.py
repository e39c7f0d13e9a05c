"""What a command prints on stderr while it works: progress, one summary of warnings, errors.

* Progress: the ``forestcarbon`` logger's INFO messages (one per step), with the share of the run
  done when the step says it (``log.info(..., extra={"progress": 0.6})`` -> ``[ 60%]``). While a
  step is still running and nothing was printed for ``every`` seconds (default 1.5), the step is
  repeated with its elapsed time, so no silent gap is longer than about two seconds.
* Warnings: the logger's warnings and Python warnings (``warnings.warn`` of the libraries, routed
  through logging) are collected, identical ones merged, and shown once, when the command ends,
  as one summary with counts.
* ``-q``: nothing but errors (no progress, no warning summary); ``cli/main.py`` also holds back
  what the command prints on stdout (the totals of ``run``), printing it only if the command
  fails: a quiet command that succeeds prints nothing at all.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter

log = logging.getLogger("forestcarbon")

HEARTBEAT_SECONDS = 1.5
"""Longest silence [s] on stderr while a step runs before it is repeated with its elapsed time."""


def _write(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _warning_text(record: logging.LogRecord) -> str:
    """One line per warning: Python warnings lose their file/line prefix and source line."""
    message = record.getMessage()
    if record.name == "py.warnings":
        first = message.strip().splitlines()[0] if message.strip() else message
        # "path/file.py:12: UserWarning: text" -> "UserWarning: text"
        parts = first.split(": ", 1)
        message = parts[1] if len(parts) == 2 and ":" in parts[0] else first
    return message


class Reporter(logging.Handler):
    """The stderr of one command (see the module docstring); a context manager.

    Parameters
    ----------
    quiet : bool
        Print errors only.
    every : float
        Heartbeat interval [s] (:data:`HEARTBEAT_SECONDS`).
    step : str
        What the command does before its first message (not printed; the heartbeat repeats it
        if that takes longer than ``every``, e.g. ``run: starting`` while libraries load).
    """

    def __init__(self, *, quiet: bool = False, every: float = HEARTBEAT_SECONDS, step: str = ""):
        super().__init__(level=logging.DEBUG)
        self.quiet = quiet
        self.every = every
        self.warnings: Counter[str] = Counter()
        self.step = step
        self.progress: float | None = None
        self.started = self.last = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: list = []

    # --- logging.Handler ---------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            _write(f"forestcarbon: error: {record.getMessage()}")
        elif record.levelno >= logging.WARNING:
            with self._lock:
                self.warnings[_warning_text(record)] += 1
        elif record.levelno >= logging.INFO and not self.quiet:
            with self._lock:
                progress = getattr(record, "progress", None)
                if progress is not None:
                    self.progress = float(progress)
                self.step = record.getMessage()
                self.started = self.last = time.monotonic()
                _write(f"forestcarbon: {self._prefix()}{self.step}")

    def _prefix(self) -> str:
        return f"[{self.progress:4.0%}] " if self.progress is not None else ""

    # --- heartbeat ---------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(min(0.25, self.every / 2)):
            with self._lock:
                now = time.monotonic()
                if self.step and now - self.last >= self.every:
                    self.last = now
                    _write(
                        f"forestcarbon: {self._prefix()}… {self.step} ({now - self.started:.0f} s)"
                    )

    # --- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Reporter:
        warnings_log = logging.getLogger("py.warnings")
        self._saved = [
            (log, log.handlers[:], log.level, log.propagate),
            (warnings_log, warnings_log.handlers[:], warnings_log.level, warnings_log.propagate),
        ]
        for logger in (log, warnings_log):
            logger.handlers = [self]
            logger.setLevel(logging.INFO)
            logger.propagate = False
        logging.captureWarnings(True)
        if not self.quiet:
            self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        logging.captureWarnings(False)
        for logger, handlers, level, propagate in self._saved:
            logger.handlers, logger.level, logger.propagate = handlers, level, propagate
        if not self.quiet:
            summary = self.summary()
            if summary:
                _write(summary)

    def summary(self) -> str:
        """The collected warnings, once each, with their count ('' without any)."""
        if not self.warnings:
            return ""
        total = sum(self.warnings.values())
        lines = [f"forestcarbon: {total} warning(s) 警告 ({len(self.warnings)} different):"]
        for text, n in self.warnings.items():
            lines.append(f"  - {text}" + (f" (x{n})" if n > 1 else ""))
        return "\n".join(lines)
