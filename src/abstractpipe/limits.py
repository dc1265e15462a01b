"""Per-page limits (config section ``limits``): a page over one is quarantined, never hangs a run.

- ``max_page_bytes``: the page file, and its bytes after gunzip;
- ``max_dom_depth``: element nesting of an HTML page, estimated before it is parsed;
- ``max_seconds_per_page``: wall time of all stages on one page.

The time limit is enforced by a watchdog thread that raises ``PageTimeout`` in
the thread running the page (``PyThreadState_SetAsyncExc``), so it works in a
process pool's workers and in a Dask worker's threads alike.  Like any Python
signal it takes effect between bytecodes: a single C call (one regex match, one
lxml parse) finishes first.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from abstractpipe.config import ConfigError

DEFAULT_LIMITS: dict[str, float] = {
    "max_page_bytes": 10 * 1024 * 1024,
    "max_dom_depth": 512,
    "max_seconds_per_page": 30.0,
}

STAGE = "limits"  # the quarantine stage of a page stopped by a limit


class PageTimeout(BaseException):
    """Raised inside a page's processing when it overruns ``max_seconds_per_page``.

    A BaseException so that a step's own ``except Exception`` cannot swallow it.
    """


@dataclass(frozen=True)
class Limits:
    max_page_bytes: int
    max_dom_depth: int
    max_seconds_per_page: float

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Limits:
        values = dict(DEFAULT_LIMITS)
        unknown = sorted(set(section) - set(values))
        if unknown:
            raise ConfigError(f"unknown limits: {', '.join(unknown)} (known: {', '.join(sorted(values))})")
        values.update(section)
        try:
            limits = cls(
                max_page_bytes=int(values["max_page_bytes"]),
                max_dom_depth=int(values["max_dom_depth"]),
                max_seconds_per_page=float(values["max_seconds_per_page"]),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"limits must be numbers: {exc}") from exc
        if min(limits.max_page_bytes, limits.max_dom_depth) < 1 or limits.max_seconds_per_page <= 0:
            raise ConfigError("limits must be positive")
        return limits


# --- DOM depth -------------------------------------------------------------------------------

# Name, then everything up to the first ">": a tag is self-closed when that ends in "/".
# (A lazy "[^>]*?(/?)>" says the same but retries "/?>" at every character: 2-4x slower.)
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^>]*)>")
VOID_ELEMENTS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Elements whose end tag is optional: a second one closes the first, as parsers do.
SELF_CLOSING_SIBLINGS = frozenset(
    ["p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot"]
)
RAW_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
# What RAW_TEXT.sub("", markup) removes, found without its lazy ".*?", which tries the end
# pattern at every character of a script (half the estimate's cost on real pages):
# a start, then the end found by a search from it.
RAW_TEXT_START = re.compile(r"<(?:(script|style)\b|!--)", re.IGNORECASE)
# Under IGNORECASE a literal "s" or "i" also matches "ſ" or "ı", which the backreference
# ``\1`` of a captured "s" or "i" does not: END finds candidates, ``_closes`` decides.
RAW_TEXT_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_BACKREFERENCE = re.compile(r"([^\x00]*)\x00</\1\s*>", re.IGNORECASE | re.DOTALL)


def _closes(opened: str, end: str) -> bool:
    """Whether RAW_TEXT's end tag (a backreference to the name) matches ``end`` after ``opened``."""
    return _BACKREFERENCE.fullmatch(f"{opened}\x00{end}") is not None


def without_raw_text(markup: str) -> str:
    """``RAW_TEXT.sub("", markup)``: script and style elements and comments removed."""
    kept: list[str] = []
    done = 0  # markup[:done] is settled
    search_from = 0
    while (start := RAW_TEXT_START.search(markup, search_from)) is not None:
        opened = start.group(1)
        stop = -1
        if opened is None:  # a comment
            end = markup.find("-->", start.end())
            stop = end + 3 if end >= 0 else -1
        else:
            end_pattern = RAW_TEXT_END[opened.lower()] if opened.isascii() else None
            if end_pattern is None:  # "ſcript": leave it to the regex itself
                match = RAW_TEXT.match(markup, start.start())
                stop = match.end() if match is not None else -1
            else:
                candidate = end_pattern.search(markup, start.end())
                while candidate is not None and not _closes(opened, candidate.group()):
                    candidate = end_pattern.search(markup, candidate.start() + 1)
                stop = candidate.end() if candidate is not None else -1
        if stop < 0:  # no end: not removed, and the search goes on from the next character
            search_from = start.start() + 1
            continue
        kept.append(markup[done : start.start()])
        done = search_from = stop
    if not kept:
        return markup
    kept.append(markup[done:])
    return "".join(kept)


def dom_depth_over(markup: str, limit: int) -> int | None:
    """The estimated nesting depth once it exceeds ``limit``, else None (one regex pass).

    A tag-stack estimate: void elements and self-closed tags do not nest, an end tag
    closes up to its open element, and an optional-end element closes its open twin.
    """
    if markup.count("<") <= limit:  # cannot nest deeper than it has tags
        return None
    stack: list[str] = []
    open_count: dict[str, int] = {}  # open elements per name: "is it open?" without a scan
    lower: dict[str, str] = {}  # the page's few distinct spellings, lower-cased once
    for closing, spelled, rest in TAG.findall(without_raw_text(markup)):
        name = lower.get(spelled)
        if name is None:
            name = lower[spelled] = spelled.lower()
        if closing:
            if open_count.get(name):  # close up to the innermost open element of that name
                while (top := stack.pop()) != name:
                    open_count[top] -= 1
                open_count[name] -= 1
            continue
        if name in VOID_ELEMENTS or rest.endswith("/"):
            continue
        if stack and stack[-1] == name and name in SELF_CLOSING_SIBLINGS:
            stack.pop()
            open_count[name] -= 1
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        if len(stack) > limit:
            return len(stack)
    return None


# --- time ------------------------------------------------------------------------------------


class Watchdog:
    """One daemon thread per process that stops pages past their deadline."""

    POLL_SECONDS = 0.02

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, int]] = {}  # thread id -> (deadline, token)
        self._tokens = itertools.count()
        self._pid = -1

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use, or a forked child (threads do not survive fork)
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._deadlines = {}
            threading.Thread(target=self._watch, name="abstractpipe-watchdog", daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.POLL_SECONDS)
            now = time.monotonic()
            with self._lock:
                for thread_id, (deadline, _) in list(self._deadlines.items()):
                    if now >= deadline:
                        del self._deadlines[thread_id]
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(thread_id), ctypes.py_object(PageTimeout)
                        )

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Raise ``PageTimeout`` in this thread if the block runs longer than ``seconds``."""
        self._ensure_thread()
        thread_id = threading.get_ident()
        token = next(self._tokens)
        with self._lock:
            self._deadlines[thread_id] = (time.monotonic() + seconds, token)
        raised = False
        try:
            yield
        except PageTimeout:
            raised = True
            raise
        finally:
            with self._lock:
                fired = self._deadlines.pop(thread_id, None) is None
            if fired and not raised:
                # The watchdog fired as the block ended, and set the exception under the lock
                # taken just above: take it here (a loop's backward jump raises it) before it
                # hits the next page. Inline, not in a function: a call's entry would raise
                # it outside the ``try``. It may also come a step earlier, at the ``pop``:
                # then the block counts as overrun, which it just was. (Clearing it with
                # ``PyThreadState_SetAsyncExc(id, NULL)``, as this did, leaves CPython 3.11's
                # pending-exception signal set for good: every later call took the slow path,
                # and under ``sys.settrace`` (coverage, debuggers) the next call never ended.)
                try:
                    for _ in range(1000):
                        pass
                except PageTimeout:
                    pass


WATCHDOG = Watchdog()
