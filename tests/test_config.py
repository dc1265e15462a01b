from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import abstractpipe.config as config_module
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


def test_wheel_ships_every_package_and_the_default_rule_files() -> None:
    """pyproject lists packages by hand (configs/ is mapped in as abstractpipe.configs): a new
    subpackage under src/ must be listed there too, or a wheel install would miss it."""
    repo = Path(__file__).resolve().parents[1]
    settings = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    source = repo / "src"
    on_disk = {".".join(init.parent.relative_to(source).parts) for init in source.rglob("__init__.py")} | {
        "abstractpipe.configs"
    }
    assert set(settings["packages"]) == on_disk
    assert settings["package-dir"]["abstractpipe.configs"] == "configs"
    assert settings["package-data"]["abstractpipe.configs"] == ["*.yaml"]


def test_package_config_dir_falls_back_to_the_installed_copy(tmp_path: Path, monkeypatch) -> None:
    # An installed package: abstractpipe/config.py with abstractpipe/configs/ and no checkout.
    package = tmp_path / "site-packages" / "abstractpipe"
    (package / "configs").mkdir(parents=True)
    monkeypatch.setattr(config_module, "__file__", str(package / "config.py"))
    assert config_module._package_config_dir() == package / "configs"
    # A checkout: src/abstractpipe/config.py with configs/default.yaml two levels up.
    checkout = tmp_path / "repo"
    (checkout / "configs").mkdir(parents=True)
    (checkout / "configs" / "default.yaml").write_text("pipeline: []\n", encoding="utf-8")
    monkeypatch.setattr(config_module, "__file__", str(checkout / "src" / "abstractpipe" / "config.py"))
    assert config_module._package_config_dir() == checkout / "configs"


def test_rule_files_read_the_same_through_libyaml_and_pure_python(default_config_path: Path) -> None:
    import yaml

    from abstractpipe.config import load_yaml

    for path in sorted(default_config_path.parent.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), path.name
