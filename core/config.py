"""Settings: every knob declared once with its default and help, loaded with a fixed precedence.

Precedence, highest first: explicit overrides (CLI options), ``GOVMAIL_<NAME>``
environment variables, the TOML file (``--config`` or ``$GOVMAIL_CONFIG``), defaults.
The README's "Configuration" section lists exactly the keys of :data:`SETTINGS` and
:class:`SourceConfig`; ``tests/test_docs.py`` keeps them in step.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError


def default_index_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "govmail" / "index"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One configured source: a path (mbox, Maildir, folder, pipermail folder) and its list."""

    path: Path
    list: str | None = None
    aliases: Path | None = None


@dataclass(frozen=True, slots=True)
class Setting:
    """A setting's documentation: its name, help and configuration-file section.

    Its default is the Settings dataclass's, written once there.
    """

    name: str
    help: str
    section: str = ""

    @property
    def default(self) -> Any:
        found = {f.name: f for f in fields(Settings)}[self.name]
        return None if found.default is MISSING else found.default


# One table of the settings a file or the environment may set; Settings below holds them.
SETTINGS: tuple[Setting, ...] = (
    Setting("backend", "Search engine: whoosh (embedded, one directory) or opensearch."),
    Setting("index_dir", "Index directory (default $XDG_DATA_HOME/govmail/index)."),
    Setting("aliases", "CSV or TOML file of author aliases, affiliations and groups."),
    Setting("references", "TOML file of governance documents and organisations to recognise, "
            "extending the shipped index/references.toml."),
    Setting("jobs", "Parser worker processes for indexing (0 = one per core)."),
    Setting("batch_size", "Messages per index commit during bulk indexing (at most 10000)."),
    Setting("lock_timeout", "Seconds a writer waits for another writer's lock."),
    Setting("follow_symlinks", "Symlinks a source scan follows: false, within (targets inside "
            "the source only) or all.", "index"),
    Setting("max_message_bytes", "Largest message parsed in full.", "limits"),
    Setting("max_mime_depth", "Deepest multipart nesting followed.", "limits"),
    Setting("max_mime_parts", "Most MIME parts read from one message.", "limits"),
    Setting("max_html_depth", "Deepest HTML element nesting converted to text.", "limits"),
    Setting("max_text_chars", "Longest body text kept per message.", "limits"),
    Setting("parse_timeout", "Seconds one message may take to parse.", "limits"),
    Setting("obfuscate_addresses", "Hide e-mail addresses on web pages.", "web"),
    Setting("base_url", "Public URL of the site, for absolute links (feeds, OpenSearch); "
            "never taken from the Host header.", "web"),
    Setting("page_size", "Hits per page.", "web"),
    Setting("max_page_size", "Largest page size a client may ask for.", "web"),
    Setting("max_query_length", "Longest query accepted, in characters.", "web"),
    Setting("max_query_terms", "Most terms a query may expand to (wildcards included).", "web"),
    Setting("max_page", "Deepest result page served.", "web"),
    Setting("check_rate", "Most MB a second the background check of `govmail serve` reads "
            "(0: no bound).", "web"),
    Setting("opensearch_url", "OpenSearch node URLs (several: any may answer).", "opensearch"),
    Setting("opensearch_index", "OpenSearch index (or alias) holding the messages.", "opensearch"),
    Setting("opensearch_shards", "Primary shards of a new OpenSearch index.", "opensearch"),
    Setting("opensearch_replicas", "Replicas of each shard of a new OpenSearch index.",
            "opensearch"),
    Setting("opensearch_verify_certs", "Verify the nodes' TLS certificates (https URLs).",
            "opensearch"),
    Setting("opensearch_ca_file", "CA certificates file for the nodes' TLS.", "opensearch"),
    Setting("opensearch_credentials_file", "File holding user:password for the cluster "
            "(else $GOVMAIL_OPENSEARCH_USER and $GOVMAIL_OPENSEARCH_PASSWORD); never logged.",
            "opensearch"),
)


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str = "whoosh"
    index_dir: Path = field(default_factory=default_index_dir)
    aliases: Path | None = None
    references: Path | None = None
    jobs: int = 0
    batch_size: int = 10000
    lock_timeout: float = 30.0
    follow_symlinks: str = "within"
    max_message_bytes: int = 25 * 1024 * 1024
    max_mime_depth: int = 32
    max_mime_parts: int = 1000
    max_html_depth: int = 400
    max_text_chars: int = 2_000_000
    parse_timeout: float = 20.0
    obfuscate_addresses: bool = True
    base_url: str = ""
    page_size: int = 20
    max_page_size: int = 100
    max_query_length: int = 1000
    max_query_terms: int = 64
    max_page: int = 500
    check_rate: float = 0.0
    opensearch_url: tuple[str, ...] = ("http://127.0.0.1:9200",)
    opensearch_index: str = "govmail"
    opensearch_shards: int = 3
    opensearch_replicas: int = 1
    opensearch_verify_certs: bool = True
    opensearch_ca_file: Path | None = None
    opensearch_credentials_file: Path | None = None
    sources: tuple[SourceConfig, ...] = ()
    config_path: Path | None = None

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply the non-None overrides (CLI options win over everything)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "index_dir" in given:
            given["index_dir"] = Path(given["index_dir"])
        return replace(self, **given)


def _coerce(name: str, value: Any) -> Any:
    kinds = {f.name: f.type for f in fields(Settings)}
    kind = kinds[name]
    try:
        if kind in ("Path", "Path | None"):
            return None if value in (None, "") else Path(value).expanduser()
        if kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r} ({exc})") from exc
    return value


def load(config_path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from defaults, then the TOML file, then GOVMAIL_* environment variables."""
    env = dict(os.environ if env is None else env)
    path = config_path or env.get("GOVMAIL_CONFIG")
    values: dict[str, Any] = {}
    sources: list[SourceConfig] = []
    if path:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        known = {s.name: s for s in SETTINGS}
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("limits", "web", "index") and isinstance(value, dict):
                flat.update(value)
            elif key == "opensearch" and isinstance(value, dict):
                # [opensearch] url = [...], index = "..." are the opensearch_* settings.
                flat.update({f"opensearch_{k}": v for k, v in value.items()})
            elif key == "source":
                continue
            else:
                flat[key] = value
        for key, value in flat.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            values[key] = _coerce(key, value)
        base = path.parent
        for entry in data.get("source", []):
            if "path" not in entry:
                raise ConfigError(f"{path}: every [[source]] needs a path")
            src_path = (base / Path(entry["path"]).expanduser()).resolve()
            aliases = entry.get("aliases")
            sources.append(
                SourceConfig(
                    path=src_path,
                    list=entry.get("list"),
                    aliases=(base / aliases).resolve() if aliases else None,
                )
            )
        if "index_dir" in values and values["index_dir"] is not None:
            values["index_dir"] = (base / values["index_dir"]).resolve()
        for key in ("aliases", "references", "opensearch_ca_file", "opensearch_credentials_file"):
            if values.get(key) is not None:
                values[key] = (base / values[key]).resolve()
    for setting in SETTINGS:
        env_value = env.get(f"GOVMAIL_{setting.name.upper()}")
        if env_value is not None:
            values[setting.name] = _coerce(setting.name, env_value)
    if env.get("GOVMAIL_INDEX"):
        values["index_dir"] = Path(env["GOVMAIL_INDEX"]).expanduser()
    if values.get("index_dir") is None:
        values["index_dir"] = default_index_dir(env)
    return Settings(**values, sources=tuple(sources), config_path=Path(path) if path else None)
