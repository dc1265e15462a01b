"""Run configuration: a YAML file, overrides from the command line, a stable hash.

Rule files (boilerplate patterns, header lexicons, term lists) are referenced
from the main config by paths relative to the config file and loaded with
``load_rules``; their contents are folded into the config hash so a rule
change invalidates a run just like a setting change.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader (shipped in PyYAML's wheels) reads the rule files ~9x as fast as the
# pure-Python one, with the same data: a run's start-up paid ~0.3 s for parsing YAML.
_YAML_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, through libyaml where PyYAML has it."""
    return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader either way


def _package_config_dir() -> Path:
    """The default rule files: ``configs/`` of a source checkout, else the copy in the package.

    A wheel ships ``configs/*.yaml`` as ``abstractpipe/configs`` (see pyproject.toml), since
    an installed package has no checkout beside it.
    """
    package = Path(__file__).resolve().parent
    checkout = package.parent.parent / "configs"
    return checkout if (checkout / "default.yaml").is_file() else package / "configs"


PACKAGE_CONFIG_DIR = _package_config_dir()


class ConfigError(ValueError):
    """A config file or override that cannot be used; the CLI exits 2."""


@dataclass
class Config:
    data: dict[str, Any]
    base_dir: Path  # folder of the config file: rule paths are relative to it
    rules: dict[str, Any] = field(default_factory=dict)  # rule files loaded, by path as written

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"config section '{name}' must be a mapping, got {type(value).__name__}")
        return value

    def load_rules(self, relative: str) -> Any:
        """Load a YAML rule file named in the config (part of the config hash).

        Each caller gets its own copy: a step that normalises its rules in place must
        not change what another step, or the config hash, sees.
        """
        return copy.deepcopy(self._load_rules(relative))

    def _load_rules(self, relative: str) -> Any:
        if relative not in self.rules:
            path = (self.base_dir / relative).resolve()
            if not path.is_file():
                raise ConfigError(f"rule file not found: {relative} (looked in {self.base_dir})")
            try:
                self.rules[relative] = load_yaml(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise ConfigError(f"rule file {relative} is not valid YAML: {exc}") from exc
        return self.rules[relative]

    def load_all_rules(self) -> None:
        """Load every rule file the config names (keys ending in ``_rules`` or ``rules``)."""
        for relative in _rule_paths(self.data):
            self._load_rules(relative)

    def digest(self) -> str:
        self.load_all_rules()
        payload = {"config": self.data, "rules": self.rules}
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _rule_paths(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key == "rules" or key.endswith("_rules")):
                found.append(value)
            else:
                found.extend(_rule_paths(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_rule_paths(item))
    return sorted(set(found))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], parsed value); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override must look like key.path=value, got {text!r}")
    key, raw_value = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override has an empty key: {text!r}")
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override value is not valid YAML: {text!r}") from exc
    return parts, value


def apply_override(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {'.'.join(parts)}: {part} is not a mapping")
        node = child
    node[parts[-1]] = value


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    config_path = Path(path) if path else default_config_path()
    if not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    try:
        data = load_yaml(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {config_path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {config_path} must be a mapping at the top level")
    data = copy.deepcopy(data)
    for text in overrides or []:
        apply_override(data, *parse_override(text))
    config = Config(data=data, base_dir=config_path.resolve().parent)
    config.load_all_rules()  # fail fast on a missing or broken rule file
    return config


def default_config_path() -> Path:
    """``configs/default.yaml`` of the working directory, else the one beside the package source."""
    local = Path("configs/default.yaml")
    return local if local.is_file() else PACKAGE_CONFIG_DIR / "default.yaml"
