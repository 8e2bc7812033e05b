"""Settings precedence: defaults < TOML file < GOVMAIL_* environment < CLI overrides."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from core import config
from core.errors import ConfigError


def test_settings_table_matches_the_dataclass() -> None:
    declared = {s.name: s.default for s in config.SETTINGS}
    dataclass_fields = {f.name for f in fields(config.Settings)} - {"sources", "config_path"}
    assert set(declared) == dataclass_fields
    defaults = config.Settings()
    for name, default in declared.items():
        if default is not None:
            assert getattr(defaults, name) == default, name


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = config.load(env={"XDG_DATA_HOME": str(tmp_path)})
    assert settings.index_dir == tmp_path / "govmail" / "index"
    assert settings.sources == ()
    assert settings.obfuscate_addresses is True


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "govmail.toml").write_text(
        'index_dir = "idx"\njobs = 3\n'
        "[limits]\nmax_mime_depth = 5\n"
        "[web]\nobfuscate_addresses = false\n"
        '[[source]]\npath = "mail/governance.mbox"\nlist = "governance"\n'
        '[[source]]\npath = "mail/maildir"\nlist = "igf"\naliases = "aliases.csv"\n',
        encoding="utf-8",
    )
    settings = config.load(tmp_path / "govmail.toml", env={"GOVMAIL_JOBS": "2"})
    assert settings.index_dir == (tmp_path / "idx").resolve()
    assert settings.jobs == 2
    assert settings.max_mime_depth == 5
    assert settings.obfuscate_addresses is False
    assert settings.sources == (
        config.SourceConfig((tmp_path / "mail/governance.mbox").resolve(), "governance", None),
        config.SourceConfig(
            (tmp_path / "mail/maildir").resolve(), "igf", (tmp_path / "aliases.csv").resolve()
        ),
    )
    assert settings.with_overrides(jobs=1, index_dir=None).jobs == 1
    assert settings.with_overrides(index_dir="elsewhere").index_dir == Path("elsewhere")


def test_govmail_index_environment_variable(tmp_path: Path) -> None:
    settings = config.load(env={"GOVMAIL_INDEX": str(tmp_path / "ix")})
    assert settings.index_dir == tmp_path / "ix"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown setting 'colour'"),
        ("jobs = 'many'\n", "setting 'jobs'"),
        ("[[source]]\nlist = 'x'\n", "needs a path"),
        ("jobs = = 1\n", "not valid TOML"),
    ],
)
def test_bad_config_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "govmail.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        config.load(path, env={})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml", env={})
