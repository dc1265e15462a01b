"""limits: the per-page watchdog leaves the interpreter as it was; the raw-text stripping of the
DOM-depth estimate removes what its regex removes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import hypothesis.strategies as st
from hypothesis import given, settings

from abstractpipe.limits import RAW_TEXT, without_raw_text
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


# Spellings where the end search and the regex's backreference could part: "ſ" and "ı" match
# a literal "s" and "i" under IGNORECASE but not a backreference to them; unclosed starts;
# comments that end where they start; "\b" after the name.
RAW_TEXT_PIECES = st.lists(
    st.sampled_from(
        [
            "<script>",
            "<SCRIPT type=x>",
            "<Script",
            "<ſcript>",
            "<scrıpt>",
            "<scripts>",
            "<script-x>",
            "<style>",
            "<STYLE\n>",
            "</script>",
            "</SCRIPT >",
            "</ſcript>",
            "</scrıpt>",
            "</script\n\t>",
            "</script\u2028>",
            "</style>",
            "</ſtyle>",
            "<!--",
            "-->",
            "<!-->",
            "--",
            "<div>",
            "</div>",
            "<",
            ">",
            "/",
            "s",
            "x",
            " ",
        ]
    ),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(RAW_TEXT_PIECES)
def test_raw_text_stripping_removes_what_the_regex_removes(pieces: list[str]) -> None:
    markup = "".join(pieces)
    assert without_raw_text(markup) == RAW_TEXT.sub("", markup)


def test_raw_text_stripping_on_pages() -> None:
    page = (
        "<html><head><style>p{}</style><script>var a = '</div>'; if (a<b) {}</script></head>"
        "<body><!-- nav --><p>text</p><script src=x></SCRIPT ><p>more<!-- unclosed"
    )
    assert without_raw_text(page) == "<html><head></head><body><p>text</p><p>more<!-- unclosed"
    assert without_raw_text(page) == RAW_TEXT.sub("", page)
    unclosed = "<script>var x; <div><div>"
    assert without_raw_text(unclosed) == unclosed
    # a backreference to "s" does not take "ſ": the first end tag does not close the script
    assert without_raw_text("<script>a</ſcript>b</script>c") == "c"
