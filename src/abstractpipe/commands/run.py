"""``abstractpipe run``: the pipeline over a folder of raw pages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abstractpipe.commands import fail

ORDER = 10


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run the pipeline over a folder of raw pages",
        description="Run every stage over the raw pages and write records, quarantine and stats. "
        "Exit 0 when every page became a record, 1 when some were quarantined, 2 on a usage or config error.",
    )
    run.add_argument("config", nargs="?", default=None, help="YAML config (default: configs/default.yaml)")
    run.add_argument("--raw", default="raw", type=Path, help="folder of raw pages (default: raw/)")
    run.add_argument("--out", default="processed", type=Path, help="output folder (default: processed/)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (YAML syntax), e.g. --set write.records_per_part=500; repeatable",
    )
    run.set_defaults(handler=command_run)


def command_run(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError, load_config
    from abstractpipe.runner import run_pipeline

    try:
        config = load_config(args.config, args.overrides)
        summary = run_pipeline(config, args.raw, args.out)
    except (ConfigError, FileNotFoundError) as exc:
        return fail("run", exc)
    for line in summary.lines():
        print(line)
    if summary.quarantined:
        print(f"see {args.out / 'quarantine.jsonl'} for the reasons", file=sys.stderr)
    return summary.exit_code
