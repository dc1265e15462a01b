"""``abstractpipe run``: the pipeline over a folder of raw pages."""

from __future__ import annotations

import argparse
import logging
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
        help="override a config value (YAML syntax), e.g. --set run.shards=256; repeatable",
    )
    run.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: every core; 1 runs in-process)"
    )
    run.add_argument(
        "--executor", choices=["local", "dask"], default="local", help="where shards run (default: local)"
    )
    run.add_argument(
        "--address", default=None, help="dask scheduler, e.g. tcp://host:8786 (default: a local cluster)"
    )
    run.add_argument("--force", action="store_true", help="redo every shard, even unchanged ones")
    run.add_argument("--gzip", action="store_true", help="write records/part-*.jsonl.gz (sets write.gzip)")
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log messages on stderr from this level up (default: INFO)",
    )
    progress = run.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_const", const=True, default=None)
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const=False,
        help="progress bar on or off (default: a bar on a terminal, periodic log lines otherwise)",
    )
    run.set_defaults(handler=command_run)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def command_run(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError, load_config
    from abstractpipe.runner import RunInterrupted, RunOptions, run_pipeline

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("abstractpipe").setLevel(args.log_level)
    if args.workers is not None and args.workers < 1:
        return fail("run", ValueError("--workers must be at least 1"))
    options = RunOptions(
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        force=args.force,
        progress=args.progress,
    )
    try:
        config = load_config(args.config, [*args.overrides, *(["write.gzip=true"] if args.gzip else [])])
        summary = run_pipeline(config, args.raw, args.out, options)
    except (ConfigError, FileNotFoundError) as exc:
        return fail("run", exc)
    except KeyboardInterrupt as exc:
        reason = str(exc) if isinstance(exc, RunInterrupted) else "interrupted"
        print(f"{reason}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in summary.lines():
        print(line)
    if summary.quarantined:
        print(f"see {args.out / 'quarantine.jsonl'} for the reasons", file=sys.stderr)
    return summary.exit_code
