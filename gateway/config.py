"""Every knob of sitegate, read from the environment and the command line in one place.

Nothing else in the project reads ``os.environ``: the rest receives a ``Settings``.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from builders.base import BuildUser
from gateway import config_values as values

# Installed beside the code, in a checkout as in a wheel: the `shared` package carries them.
_SHARED = Path(__file__).resolve().parent.parent / "shared"
PACKAGED_COMPONENTS = _SHARED / "components"
PACKAGED_TEMPLATES = _SHARED / "templates"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Mode(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class ConfigError(ValueError):
    """A setting has a value sitegate cannot use; the message names the setting."""


@dataclass(frozen=True)
class ClusterSettings:
    """Several gateways sharing builds (issue 15): the build store holds the bytes, MongoDB the
    pointers and build leases. Both or neither: one without the other is a ConfigError."""

    store_url: str
    db_url: str
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_session_token: str | None = field(default=None, repr=False)
    # This gateway's name in pointers and leases (the process id is added per process).
    host_id: str = field(default_factory=socket.gethostname)
    # How often a gateway asks whether a pointer moved: deploy → served everywhere within this.
    poll_seconds: float = 1.0
    # A build lease lasts this long unless renewed (every third of it): how long a dead
    # builder holds a site up before another host builds it.
    lease_seconds: float = 30.0
    # The local build folder as a cache: least recently served builds go beyond this size.
    cache_max_bytes: int | None = None
    # How long one call to the store or the database may take before it counts as out of reach.
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    sites_dir: Path = Path("sites")
    shared_dir: Path = PACKAGED_COMPONENTS
    templates_dir: Path = PACKAGED_TEMPLATES
    build_dir: Path = Path(tempfile.gettempdir()) / "sitegate" / "builds"
    mode: Mode = Mode.PRODUCTION
    backend_url: str = "http://127.0.0.1:8000"
    backend_token: str | None = None
    host: str = "0.0.0.0"
    port: int = 3000
    trusted_proxies: tuple[IpNetwork, ...] = field(
        default_factory=lambda: (
            ipaddress.ip_network("127.0.0.0/8"),
            ipaddress.ip_network("::1/128"),
        )
    )
    proxy_connect_timeout: float = 5.0
    proxy_read_timeout: float = 60.0
    build_timeout: float = 600.0
    # Builds running at once; more sites asking wait in line, so a burst of cold sites cannot
    # take every core and all the memory.
    max_builds: int = 4
    # On SIGTERM, requests in flight may finish for this long before the gateway exits anyway.
    shutdown_grace: float = 10.0
    # Limits a client cannot talk its way past (see SECURITY.md). The header timeout
    # is aiohttp's keep-alive timer, which also runs from a connection's first byte until its
    # request head is complete: one clock for idle keep-alive and for a head that never ends.
    header_timeout: float = 10.0
    # Longest request line and longest header field, and how many header fields.
    max_header_bytes: int = 8190
    max_headers: int = 128
    max_api_body_bytes: int = 100 * 1024 * 1024
    # Seconds without a single byte of a request body before the request is given up (408).
    body_timeout: float = 30.0
    max_connections: int = 10_000
    # Processes serving one port (``serve`` only; development is one process).
    workers: int = 1
    keep_builds: int = 3
    store_url: str | None = None
    data_dir: Path = Path(".data")
    watch_debounce_ms: int = 50
    default_site: str | None = None
    gateway_url: str = "http://127.0.0.1:3000"
    # "text" lines for a terminal, or "json": one object per line for a log shipper.
    log_format: str = "text"
    # An access line per request in production (development writes none: its terminal is for builds).
    access_log: bool = True
    # PATH and HOME of the gateway's environment: all a site's own build or dev command inherits,
    # so it finds node and npm and their caches but never sees the gateway's secrets.
    command_env: tuple[tuple[str, str], ...] = field(default_factory=lambda: _command_env(os.environ))
    # Where the gateway runs as root, a site's own build commands run as this user instead
    # (``nobody`` unless SITEGATE_BUILD_USER names another; ``root`` keeps them as root).
    build_user: BuildUser | None = field(default_factory=lambda: _default_build_user())
    # None: one host on its own, as without these settings sitegate always was.
    cluster: ClusterSettings | None = None

    @property
    def dev(self) -> bool:
        return self.mode is Mode.DEVELOPMENT

    def with_absolute_paths(self) -> Settings:
        """Folders as absolute paths, so paths from the file watcher and the builds compare equal."""
        return replace(
            self,
            sites_dir=self.sites_dir.resolve(),
            shared_dir=self.shared_dir.resolve(),
            build_dir=self.build_dir.resolve(),
            data_dir=self.data_dir.resolve(),
        )


ENV_PREFIX = "SITEGATE_"
INHERITED_COMMAND_VARIABLES = ("PATH", "HOME")


def _default_build_user() -> BuildUser | None:
    return _build_user("nobody") if os.geteuid() == 0 else None


def _build_user(name: str) -> BuildUser | None:
    try:
        account = pwd.getpwnam(name.strip())
    except KeyError:
        raise ValueError("no such user on this machine") from None
    # Root for root's builds is the operator's explicit choice; so is the gateway's own user.
    if account.pw_uid in (0, os.geteuid()):
        return None
    return BuildUser(account.pw_name, account.pw_uid, account.pw_gid)


def _command_env(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, environ[name]) for name in INHERITED_COMMAND_VARIABLES if environ.get(name))


def _mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        raise ValueError("must be 'production' or 'development'") from None


def _networks(value: str) -> tuple[IpNetwork, ...]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


_PARSERS: dict[str, tuple[str, Any]] = {
    "SITES_DIR": ("sites_dir", values.path),
    "SHARED_DIR": ("shared_dir", values.path),
    "TEMPLATES_DIR": ("templates_dir", values.path),
    "BUILD_DIR": ("build_dir", values.path),
    "MODE": ("mode", _mode),
    "BACKEND_URL": ("backend_url", values.url),
    "BACKEND_TOKEN": ("backend_token", values.text),
    "HOST": ("host", values.text),
    "PORT": ("port", values.port),
    "TRUSTED_PROXIES": ("trusted_proxies", _networks),
    "PROXY_CONNECT_TIMEOUT": ("proxy_connect_timeout", values.positive_float),
    "PROXY_READ_TIMEOUT": ("proxy_read_timeout", values.positive_float),
    "BUILD_TIMEOUT": ("build_timeout", values.positive_float),
    "MAX_BUILDS": ("max_builds", values.positive_int),
    "SHUTDOWN_GRACE": ("shutdown_grace", values.positive_float),
    "BUILD_USER": ("build_user", _build_user),
    "HEADER_TIMEOUT": ("header_timeout", values.positive_float),
    "MAX_HEADER_BYTES": ("max_header_bytes", values.positive_int),
    "MAX_HEADERS": ("max_headers", values.positive_int),
    "MAX_API_BODY_BYTES": ("max_api_body_bytes", values.positive_int),
    "BODY_TIMEOUT": ("body_timeout", values.positive_float),
    "MAX_CONNECTIONS": ("max_connections", values.positive_int),
    "WORKERS": ("workers", values.workers),
    "KEEP_BUILDS": ("keep_builds", values.positive_int),
    "STORE_URL": ("store_url", values.text),
    "DATA_DIR": ("data_dir", values.path),
    "WATCH_DEBOUNCE_MS": ("watch_debounce_ms", values.positive_int),
    "DEFAULT_SITE": ("default_site", values.text),
    "GATEWAY_URL": ("gateway_url", values.url),
    "LOG_FORMAT": ("log_format", values.log_format),
    "ACCESS_LOG": ("access_log", values.switch),
}


# Read only when SITEGATE_BUILD_STORE or SITEGATE_CLUSTER_DB is set; the AWS_* names are the
# ones every S3 tool reads, so one set of credentials serves them all.
_CLUSTER_PARSERS: dict[str, tuple[str, Any]] = {
    "SITEGATE_BUILD_STORE": ("store_url", values.store_url),
    "SITEGATE_CLUSTER_DB": ("db_url", values.mongo_url),
    "SITEGATE_S3_ENDPOINT_URL": ("s3_endpoint_url", values.url),
    "AWS_REGION": ("s3_region", values.text),
    "AWS_ACCESS_KEY_ID": ("s3_access_key_id", values.text),
    "AWS_SECRET_ACCESS_KEY": ("s3_secret_access_key", values.text),
    "AWS_SESSION_TOKEN": ("s3_session_token", values.text),
    "SITEGATE_HOST_ID": ("host_id", values.text),
    "SITEGATE_CLUSTER_POLL_SECONDS": ("poll_seconds", values.positive_float),
    "SITEGATE_CLUSTER_LEASE_SECONDS": ("lease_seconds", values.positive_float),
    "SITEGATE_CACHE_MAX_BYTES": ("cache_max_bytes", values.size),
    "SITEGATE_CLUSTER_TIMEOUT": ("timeout_seconds", values.positive_float),
}


def _cluster(environ: Mapping[str, str]) -> ClusterSettings | None:
    values: dict[str, Any] = {}
    for name, (key, parser) in _CLUSTER_PARSERS.items():
        raw = environ.get(name) or (environ.get("AWS_DEFAULT_REGION") if name == "AWS_REGION" else None)
        if not raw:
            continue
        try:
            values[key] = parser(raw)
        except ValueError as error:
            shown = "…" if "SECRET" in name or "TOKEN" in name else repr(raw)
            raise ConfigError(f"{name}={shown}: {error}") from None
    has_store, has_db = "store_url" in values, "db_url" in values
    if not has_store and not has_db:
        return None
    if not (has_store and has_db):
        missing = "SITEGATE_CLUSTER_DB" if has_store else "SITEGATE_BUILD_STORE"
        raise ConfigError(f"{missing} is not set: a cluster needs both SITEGATE_BUILD_STORE and SITEGATE_CLUSTER_DB")
    return ClusterSettings(**values)


def _parse(name: str, raw: str) -> tuple[str, Any]:
    field_name, parser = _PARSERS[name]
    try:
        return field_name, parser(raw)
    except ValueError as error:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r}: {error}") from None


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> Settings:
    """Settings from ``SITEGATE_*`` variables, then command-line ``overrides`` on top.

    ``overrides`` uses the environment names without the prefix (``{"PORT": "8080"}``), so a
    flag and its variable share one parser and one error message.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in _PARSERS:
        raw = environ.get(ENV_PREFIX + name)
        if raw is not None and raw != "":
            key, value = _parse(name, raw)
            values[key] = value
    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in _PARSERS:
            raise ConfigError(f"unknown setting {name!r}")
        key, value = _parse(name, raw)
        values[key] = value
    values["command_env"] = _command_env(environ)
    values["cluster"] = _cluster(environ)
    return Settings(**values)
