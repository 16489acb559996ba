"""Crash-test worker: submit to a ledger from several threads until killed.

    python crash_worker.py URL ELECTION NAME THREADS PRECINCT [PRECINCT...]

Prints one line ``SEQ KEY`` per acknowledged submission, flushed right after ``submit()`` returned,
i.e. after its batch was committed. The test kills this process with SIGKILL mid-burst.
"""

from __future__ import annotations

import sys
import threading

from caucus.ledger import Ledger, Submission, make_engine


def main(argv: list[str]) -> int:
    url, election, name, threads, *codes = argv
    ledger = Ledger(make_engine(url))
    out = threading.Lock()

    def run(thread: int) -> None:
        n = 0
        while True:
            n += 1
            key = f"{name}-{thread}-{n}"
            receipt = ledger.submit(
                Submission(
                    election=election,
                    precinct_code=codes[(thread + n) % len(codes)],
                    channel="app",
                    stage="first",
                    payload={"n": n, "thread": thread, "worker": name},
                    actor=f"crash:{name}",
                    idempotency_key=key,
                )
            )
            with out:
                sys.stdout.write(f"{receipt.seq} {key}\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return 1  # only reached if every thread died of an error (printed to stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
