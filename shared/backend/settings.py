"""The backend's knobs as one value. Only ``cli.py`` builds it from the environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MIB = 1024 * 1024


def default_store_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'backend.sqlite3'}"


@dataclass(frozen=True)
class PasswordCost:
    """argon2id work factors; lower them only where speed matters more than strength (tests)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True)
class HookPolicy:
    """How rebuild calls to the gateway are batched and retried."""

    coalesce_seconds: float = 0.2
    attempts: int = 4
    first_backoff_seconds: float = 0.5
    timeout_seconds: float = 10.0
    close_grace_seconds: float = 5.0


@dataclass(frozen=True)
class BackendSettings:
    """``gateway_url`` None turns rebuild hooks off. ``backend_token`` None means "trust only
    loopback peers". ``login_attempts`` per ``login_window_seconds`` bounds sign-ins (and,
    as each costs a password hash, sign-ups) per site and client. ``trusted_proxies`` are the
    hops skipped when reading a client's address from ``X-Forwarded-For``. A JSON body must
    arrive within ``body_timeout_seconds`` and a media upload within ``upload_timeout_seconds``
    (408 otherwise), so a client sending a byte at a time cannot hold a handler for long."""

    data_dir: Path
    store_url: str
    media_max_bytes: int = 10 * MIB
    body_timeout_seconds: float = 30.0
    # 10 MiB in 5 minutes is about 280 kbit/s: a slow phone link, not a stalled client.
    upload_timeout_seconds: float = 300.0
    backend_token: str | None = None
    gateway_url: str | None = None
    login_attempts: int = 10
    login_window_seconds: float = 60.0
    session_lifetime: timedelta = timedelta(days=14)
    password_cost: PasswordCost = field(default_factory=PasswordCost)
    hooks: HookPolicy = field(default_factory=HookPolicy)
    trusted_proxies: tuple[IpNetwork, ...] = field(
        default_factory=lambda: (
            ipaddress.ip_network("127.0.0.0/8"),
            ipaddress.ip_network("::1/128"),
        )
    )

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
