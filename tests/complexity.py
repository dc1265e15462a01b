"""A clock-free measure of work, for tests that guard how an algorithm grows.

Speed is measured by the benchmarks (``benchmarks/``), never by a timed test: a wall-clock
bound fails on a busy machine and lets a quadratic algorithm pass on a fast one. The number
of Python lines a call executes is the same on every machine and run, and grows as the
algorithm does, so tests compare it at two input sizes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any


def lines_executed(call: Callable[[], Any]) -> int:
    """How many Python lines ``call()`` executes (this thread; C code counts as the line calling it)."""
    count = 0

    def on_line(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        nonlocal count
        if event == "line":
            count += 1
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        return on_line

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


def growth(call_with: Callable[[int], Any], small: int, large: int) -> float:
    """``lines_executed`` at ``large`` over that at ``small``: about large/small when linear."""
    return lines_executed(lambda: call_with(large)) / lines_executed(lambda: call_with(small))
