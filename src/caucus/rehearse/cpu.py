"""CPU seconds of processes, from /proc (user + system, including reaped children), so that a rehearsal can
say what each acknowledged report cost the server and what it cost the load generator itself.

A server started in its own session (``start_new_session=True``) is measured as every live process of that
session plus what its reaped children used; a process that is killed is read just before (see
:class:`CpuAccount`), so its CPU stays counted after it is gone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CpuAccount", "process_cpu", "session_cpu"]

_TICK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards), or None if it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rfind(")") + 2:].split()


def _cpu(fields: list[str]) -> float:
    # fields[0] is stat field 3 (state): utime, stime, cutime, cstime are fields 14-17
    return sum(int(v) for v in fields[11:15]) / _TICK


def process_cpu(pid: int | None = None) -> float:
    """CPU seconds used by ``pid`` (default: this process) and its reaped children."""
    fields = _fields(pid or os.getpid())
    return 0.0 if fields is None else _cpu(fields)


def session_cpu(sessions: Iterable[int]) -> float:
    """CPU seconds used by every live process of the given sessions and their reaped children."""
    wanted = {str(s) for s in sessions}
    if not wanted:
        return 0.0
    total = 0.0
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        fields = _fields(entry.name)
        if fields is not None and fields[3] in wanted:  # field 6: session id
            total += _cpu(fields)
    return total


class CpuAccount:
    """The CPU of a process that may be restarted: what ended instances used, plus the live one's."""

    def __init__(self) -> None:
        self.ended = 0.0
        self.session: int | None = None

    def started(self, session: int) -> None:
        self.session = session

    def ending(self) -> None:
        """Called just before the live instance is stopped or killed: its CPU so far is kept."""
        if self.session is not None:
            self.ended += session_cpu([self.session])
        self.session = None

    def seconds(self) -> float:
        return self.ended + (session_cpu([self.session]) if self.session is not None else 0.0)
