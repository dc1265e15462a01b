"""A file of per-page work one pass of a run saves for the next (``Step.save_work``).

Written one entry at a time, so neither pass holds a shard's pages in memory:
pickled values, then the index (key -> offset), then the index's offset in the
last 8 bytes.  The file only ever comes from this run's own ``.state`` folder
(``State.clear_work`` removes older ones), which is why pickle is acceptable.
A reader that finds no usable file, or no entry for a key, returns None and the
step does the work itself.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

_TAIL = 8


class WorkWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[bytes] = self.temp.open("wb")
        self.index: dict[str, int] = {}

    def add(self, key: str, value: Any) -> None:
        offset = self.file.tell()
        pickle.dump(value, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.index[key] = offset  # only once the entry is complete

    def close(self) -> None:
        offset = self.file.tell()
        pickle.dump(self.index, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.file.write(offset.to_bytes(_TAIL, "little"))
        self.file.close()
        self.temp.replace(self.path)


class WorkReader:
    def __init__(self, path: Path) -> None:
        self.file: IO[bytes] | None = None
        self.index: dict[str, int] = {}
        try:
            file = path.open("rb")
        except OSError:
            return
        try:
            file.seek(-_TAIL, 2)
            file.seek(int.from_bytes(file.read(_TAIL), "little"))
            self.index = pickle.load(file)
            self.file = file
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            file.close()

    def get(self, key: str) -> Any | None:
        offset = self.index.get(key)
        if self.file is None or offset is None:
            return None
        self.file.seek(offset)
        return pickle.load(self.file)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
