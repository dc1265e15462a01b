"""JSON Lines tools behind ``abstractpipe align`` and ``abstractpipe extract-stats``.

Each tool reads one JSON object a line, turns it into one output object, and
writes the outputs in input order.  A line that cannot be used (not JSON, a
missing or mistyped field) is reported with its line number and skipped; the
run still writes the other lines and returns ``EXIT_PARTIAL``.  Output goes to
a temporary file renamed into place (``write_atomic``), or to stdout for ``-``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abstractpipe.align import AlignParams, align_sentences
from abstractpipe.config import Config, ConfigError, load_config
from abstractpipe.write import dump_json_line, write_atomic

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
STDIO = "-"
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class LineError(ValueError):
    """An input line that cannot be processed; the message says why."""


@dataclass
class ToolResult:
    outputs: list[dict[str, Any]]
    problems: list[str]  # "line N: why", in line order

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.problems else EXIT_OK


Transform = Callable[[dict[str, Any]], dict[str, Any]]


def read_input(path: str) -> str:
    """The whole input text; ``-`` is stdin.  Raises OSError / UnicodeDecodeError."""
    if path == STDIO:
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def write_output(path: str, outputs: list[dict[str, Any]]) -> None:
    text = "".join(dump_json_line(item) + "\n" for item in outputs)
    if path == STDIO:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(Path(path), text)


def parse_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(1-based line number, object or the reason it is unusable); blank lines are skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, LineError(f"not JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield number, LineError(f"expected a JSON object, got {type(value).__name__}")
            continue
        yield number, value


def apply_transform(text: str, transform: Transform) -> ToolResult:
    result = ToolResult([], [])
    for number, item in parse_lines(text):
        try:
            if isinstance(item, LineError):
                raise item
            result.outputs.append(transform(item))
        except LineError as exc:
            result.problems.append(f"line {number}: {exc}")
    return result


def run_tool(name: str, input_path: str, output_path: str, transform: Transform) -> int:
    """Read, transform, write; problems go to stderr.  Returns the exit code."""
    try:
        text = read_input(input_path)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"abstractpipe {name}: error: cannot read {input_path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = apply_transform(text, transform)
    try:
        write_output(output_path, result.outputs)
    except OSError as exc:
        print(f"abstractpipe {name}: error: cannot write {output_path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in result.problems:
        print(f"abstractpipe {name}: {problem}", file=sys.stderr)
    if result.problems:
        print(
            f"abstractpipe {name}: {len(result.outputs)} lines written, {len(result.problems)} skipped",
            file=sys.stderr,
        )
    return result.exit_code


# ---------------------------------------------------------------------------- fields


def _id(item: dict[str, Any]) -> str | int:
    if "id" not in item:
        raise LineError("missing field 'id'")
    value = item["id"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineError(f"field 'id' must be a string or an integer, got {type(value).__name__}")
    return value


def _string(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise LineError(f"field '{key}' must be a string, got {type(value).__name__}")
    return value


def _sentences(item: dict[str, Any], lang: str) -> list[str]:
    """A side's sentences: the pre-split list ``lang``, else ``{lang}_text`` split here."""
    if lang in item:
        value = item[lang]
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise LineError(f"field '{lang}' must be a list of strings")
        return value
    key = f"{lang}_text"
    if key in item:
        from abstractpipe.sentences import split_sentences

        text = _string(item, key)
        return [text[start:end] for start, end in split_sentences(text, lang)]
    raise LineError(f"missing field '{lang}' (a list of sentences) or '{key}' (text)")


# ---------------------------------------------------------------------------- align


def load_align_params(config_path: str | None) -> AlignParams:
    """Alignment parameters from a run config (its ``align.rules`` file) or an align rule file.

    Without a path: the default run config.  Raises ConfigError.
    """
    if config_path is None:
        config = load_config(None)
    else:
        import yaml

        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {config_path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config {config_path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {config_path} must be a mapping at the top level")
        if "align" not in data and "pipeline" not in data:
            return _params(data, config_path)  # an align rule file itself
        config = Config(data=data, base_dir=path.resolve().parent)
    rules_path = config.section("align").get("rules")
    rules = config.load_rules(rules_path) if rules_path else {}
    return _params(rules or {}, str(rules_path))


def _params(rules: Any, where: str) -> AlignParams:
    if not isinstance(rules, dict):
        raise ConfigError(f"align rules {where} must be a mapping")
    try:
        return AlignParams.from_mapping(rules)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"align rules {where}: {exc}") from exc


def align_transform(params: AlignParams) -> Transform:
    def transform(item: dict[str, Any]) -> dict[str, Any]:
        identifier = _id(item)
        en, zh = _sentences(item, "en"), _sentences(item, "zh")
        links = align_sentences(en, zh, params)
        return {
            "id": identifier,
            "en": en,
            "zh": zh,
            "links": [[en_side, zh_side] for en_side, zh_side, _ in links],
            "scores": [score for _, _, score in links],
        }

    return transform


# ---------------------------------------------------------------------------- extract-stats


def load_statistics_rules(config_path: str | None) -> dict[str, Any]:
    """The statistics rule file named by ``extract.statistics_rules``.  Raises ConfigError."""
    config = load_config(config_path)
    relative = config.section("extract").get("statistics_rules", "statistics.yaml")
    rules = config.load_rules(relative) or {}
    if not isinstance(rules, dict):
        raise ConfigError(f"statistics rules {relative} must be a mapping")
    return rules


def text_language(text: str) -> str:
    """en or zh: the detector's answer, else Han characters decide."""
    from abstractpipe.language import detect_language

    lang, _ = detect_language(text)
    if lang in ("en", "zh"):
        return lang
    return "zh" if HAN.search(text) else "en"


def extract_stats_transform(rules: dict[str, Any]) -> Transform:
    from abstractpipe.extract.statistics import StatisticsExtractor

    extractor = StatisticsExtractor(rules)

    def transform(item: dict[str, Any]) -> dict[str, Any]:
        identifier = _id(item)
        if "text" not in item:
            raise LineError("missing field 'text'")
        text = _string(item, "text")
        if item.get("lang") is None:
            lang = text_language(text)
        else:
            lang = _string(item, "lang")
            if lang not in ("en", "zh"):
                raise LineError(f"field 'lang' must be 'en' or 'zh', got {lang!r}")
        return {"id": identifier, "stats": extractor.find(text, lang)}

    return transform
