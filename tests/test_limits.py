"""The per-page watchdog (limits.Watchdog): a stopped page leaves the interpreter as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO

# Run in a child process: the failure this guards against is a hang, which must not hang the suite.
AFTER_TIMEOUTS = textwrap.dedent(
    """
    import sys, time
    from abstractpipe.limits import WATCHDOG, PageTimeout

    stopped = 0
    for _ in range(3):  # a page stopped mid-loop, as the runner sees it
        try:
            with WATCHDOG.deadline(0.05):
                while True:
                    pass
        except PageTimeout:
            stopped += 1

    # Blocks ending about when the watchdog fires (it polls every 20 ms): whenever the
    # exception comes, it comes out of the ``with``, never after it.
    for step in range(60):
        try:
            with WATCHDOG.deadline(0.02):
                end = time.monotonic() + 0.0005 * step
                while time.monotonic() < end:
                    pass
        except PageTimeout:
            pass
        total = 0
        for number in range(20_000):
            total += number

    lines = 0

    def count(frame, event, arg):
        global lines
        lines += event == "line"
        return count

    def traced():
        return sum(range(10))

    sys.settrace(count)  # coverage and debuggers trace: this call never ended before
    traced()
    sys.settrace(None)
    print(stopped, total, lines)
    """
)


def test_pages_stopped_by_the_watchdog_leave_calls_and_tracing_working() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AFTER_TIMEOUTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "199990000", "1"]
