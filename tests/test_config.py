from __future__ import annotations

from pathlib import Path

import pytest

from abstractpipe.config import ConfigError, load_config, parse_override


def test_default_config_loads_every_rule_file(default_config_path: Path) -> None:
    config = load_config(default_config_path)
    assert config.data["pipeline"][0] == "ingest"
    assert "clean.yaml" in config.rules and "statistics.yaml" in config.rules


def test_override_sets_nested_value_parsed_as_yaml(default_config_path: Path) -> None:
    config = load_config(default_config_path, ["run.shards=5", "clean.extra.flag=true"])
    assert config.section("run")["shards"] == 5
    assert config.section("clean")["extra"] == {"flag": True}


def test_override_changes_digest(default_config_path: Path) -> None:
    base = load_config(default_config_path).digest()
    assert load_config(default_config_path).digest() == base
    assert load_config(default_config_path, ["run.shards=7"]).digest() != base


@pytest.mark.parametrize("bad", ["novalue", "=3", "a.b=[unclosed"])
def test_bad_override_is_config_error(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_override(bad)


def test_missing_rule_file_fails_fast(tmp_path: Path) -> None:
    config_file = tmp_path / "c.yaml"
    config_file.write_text("pipeline: [ingest]\nclean:\n  rules: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_config(config_file)


def test_missing_and_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("pipeline: [ingest\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listed)
