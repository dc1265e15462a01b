"""Runs the configured steps over a raw folder and writes the output folder."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from abstractpipe import __version__
from abstractpipe.config import Config
from abstractpipe.document import Document
from abstractpipe.pipeline import build_steps, observe_sites, run_steps
from abstractpipe.schema import SCHEMA_VERSION
from abstractpipe.write import RecordWriter, write_json


@dataclass
class RunSummary:
    pages: int
    records: int
    quarantined: int
    seconds: float
    out_dir: Path
    quarantine_by_stage: dict[str, int]
    notices: list[str]

    @property
    def exit_code(self) -> int:
        return 1 if self.quarantined else 0

    def lines(self) -> list[str]:
        lines = [
            f"pages read:   {self.pages}",
            f"records:      {self.records}",
            f"quarantined:  {self.quarantined}"
            + (
                " ("
                + ", ".join(f"{stage}: {n}" for stage, n in sorted(self.quarantine_by_stage.items()))
                + ")"
                if self.quarantined
                else ""
            ),
            f"time:         {self.seconds:.2f} s",
            f"output:       {self.out_dir}",
        ]
        return lines + self.notices


def run_pipeline(config: Config, raw_dir: Path, out_dir: Path) -> RunSummary:
    from abstractpipe.ingest import discover_inputs

    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder not found: {raw_dir}")
    started = time.perf_counter()
    steps = build_steps(config)

    def make_docs() -> list[Document]:
        return discover_inputs(raw_dir)

    observe_sites(steps, make_docs)
    writer = RecordWriter(out_dir, int(config.section("write").get("records_per_part", 10000)))
    pages = 0
    for doc in run_steps(steps, make_docs()):
        pages += 1
        writer.add(doc)
    writer.write_records()
    writer.write_quarantine()
    seconds = time.perf_counter() - started

    quarantine_by_stage = dict(Counter(q["stage"] for q in writer.quarantine))
    write_json(
        out_dir / "stats.json",
        {
            "pages": pages,
            "records": len(writer.records),
            "quarantined": len(writer.quarantine),
            "quarantined_by_stage": quarantine_by_stage,
            "stages": {step.name: dict(sorted(step.counters.items())) for step in steps},
        },
    )
    write_json(
        out_dir / "run.json",
        {
            "package": "abstractpipe",
            "package_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "config": config.data,
            "config_sha256": config.digest(),
            "rule_files": sorted(config.rules),
            "input_count": pages,
        },
    )
    write_json(
        out_dir / "timings.json",
        {"total_seconds": round(seconds, 3), "stages": {s.name: round(s.seconds, 3) for s in steps}},
    )
    return RunSummary(
        pages=pages,
        records=len(writer.records),
        quarantined=len(writer.quarantine),
        seconds=seconds,
        out_dir=out_dir,
        quarantine_by_stage=quarantine_by_stage,
        notices=[line for step in steps for line in step.summary_lines()],
    )
