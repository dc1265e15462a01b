"""``abstractpipe scrape``: fetch pages politely into a raw folder (and optionally a WARC file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abstractpipe.commands import EXIT_OK, EXIT_PARTIAL, fail

ORDER = 5


def register(commands: argparse._SubParsersAction) -> None:
    scrape = commands.add_parser(
        "scrape",
        help="fetch web pages into a raw folder, with provenance sidecars",
        description="Fetch pages politely (robots.txt, per-host rate limit, retries) and save each as "
        "its body plus a sidecar JSON that `abstractpipe run` reads for the record's URL and fetch time. "
        "Re-scraping sends the saved ETag/Last-Modified, so unchanged pages cost a 304. "
        "Exit 0 when no page failed, 1 when some did, 2 on a usage or config error.",
    )
    scrape.add_argument("urls", nargs="*", metavar="URL", help="page URLs (http or https)")
    scrape.add_argument("--urls", dest="url_file", type=Path, help="file of URLs, one a line ('#' comments)")
    scrape.add_argument(
        "--out", type=Path, default=None, help="folder for the pages (default: raw/<host> for each URL)"
    )
    scrape.add_argument(
        "--warc", type=Path, default=None, help="also append each fetched page to this WARC file"
    )
    scrape.add_argument("--config", default=None, help="YAML config (default: configs/default.yaml)")
    scrape.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value, e.g. --set scrape.min_interval=2; repeatable",
    )
    scrape.add_argument("--quiet", action="store_true", help="no per-page progress lines")
    scrape.set_defaults(handler=command_scrape)


def command_scrape(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError, load_config
    from abstractpipe.scrape import scrape, settings_from_config

    urls = list(args.urls)
    if args.url_file is not None:
        try:
            urls += args.url_file.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            return fail("scrape", f"cannot read {args.url_file}: {exc}")
    if not any(u.strip() and not u.strip().startswith("#") for u in urls):
        return fail("scrape", "no URLs given (URL arguments or --urls FILE)")
    try:
        settings = settings_from_config(load_config(args.config, args.overrides))
    except ConfigError as exc:
        return fail("scrape", exc)

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    summary = scrape(urls, settings, args.out, args.warc, progress)
    for line in summary.lines():
        print(line)
    return EXIT_PARTIAL if summary.failed else EXIT_OK
