"""CPU accounting from /proc: a server's every process (its session) and what it used before it was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from caucus.rehearse.cpu import CpuAccount, process_cpu, session_cpu

# burns about 0.3 s of CPU in a child of the session's leader, then both wait to be killed
BURN = ("import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time\\nt = time.process_time()\\n"
        "while time.process_time() - t < 0.3: pass\\nprint(flush=True)\\ntime.sleep(60)'], stdout=sys.stdout)\n"
        "time.sleep(60)\n")


def test_a_session_is_measured_with_its_children_and_kept_after_a_kill() -> None:
    assert process_cpu() > 0  # this process has run (imports, collection)
    leader = subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.PIPE, start_new_session=True)
    account = CpuAccount()
    account.started(leader.pid)
    try:
        assert leader.stdout is not None
        leader.stdout.readline()  # the child has burnt its 0.3 s
        measured = account.seconds()
        assert measured >= 0.25, measured
        assert session_cpu([leader.pid]) >= 0.25
        assert process_cpu(leader.pid) < 0.25  # the leader itself only waits: the CPU is its child's
        account.ending()
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        leader.stdout.close()
    # after the kill, the ended instance's CPU stays counted
    assert account.session is None and account.ended >= 0.25
    assert account.seconds() == account.ended
