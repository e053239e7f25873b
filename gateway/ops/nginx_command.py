"""``sitegate nginx-config``: read the sites, write the config (``nginx_config``) to stdout or a file."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from builders import KNOWN_BUILDERS
from gateway.config import ConfigError, Settings
from gateway.ops.nginx_config import NginxOptions, plan, render
from gateway.ops.nginx_rules import Inexpressible
from gateway.ops.nginx_upstream import server_address
from gateway.sites.registry import Registry

NGINX_HELP = """\
Print an nginx config (for its http block, e.g. conf.d/sitegate.conf) for the registered sites:
a server block per site with its names and aliases, /api and everything else to the gateway,
/_sitegate/ internal but for health.

--direct: nginx serves each site's current build straight from the build folder (gzip and,
with --brotli, brotli siblings; immutable for hashed names, no-cache otherwise; clean URLs)
and asks the gateway only on a miss, for a site never built, or for a site whose _redirects
or _headers nginx cannot express (the config says which, in a comment).

--backend URL: nginx sends /api straight to the backend, with the tenant headers (and the
backend token) written into each site's block.

--upstream HOST:PORT, once per gateway (instead of --gateway): nginx spreads requests over the
gateways, leaves out one that fails (2 failures within 5 s, for 5 s), and sends a request a
gateway failed to the next one, unless it is a POST, PATCH or LOCK the gateway received."""


def run(settings: Settings, argv: Sequence[str], *, gateway: str | None, backend: str | None, direct: bool,
        listen: str, brotli: bool, output: Path | None, upstreams: Sequence[str] = ()) -> int:  # fmt: skip
    try:
        servers = _servers(upstreams)
        options = NginxOptions(
            gateway="" if servers else _upstream(gateway or settings.gateway_url, "--gateway"),
            listen=listen,
            direct=direct,
            build_dir=settings.build_dir.resolve(),
            backend=_upstream(backend, "--backend") if backend else None,
            backend_token=settings.backend_token if backend else None,
            brotli=brotli,
            max_body_bytes=settings.max_api_body_bytes,
            upstreams=servers,
        )
        registry = Registry.scan(settings.sites_dir, KNOWN_BUILDERS)
        text = render(plan(registry, options), options, shlex.join(["sitegate", "nginx-config", *argv]))
    except Inexpressible as error:
        raise ConfigError(f"nginx-config: {error}") from None
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, text, private=options.backend_token is not None)
        print(f"wrote {output} for {len(registry.sites)} site(s)", file=sys.stderr)
    return 0


def _upstream(url: str, flag: str) -> str:
    """``http://host:port`` → ``host:port``, as nginx's ``upstream`` names a server."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"{flag} {url!r}: expected http://HOST:PORT (nginx reaches it over plain HTTP)")
    try:
        port = parts.port or 80
    except ValueError:
        raise ConfigError(f"{flag} {url!r}: the port is not a number from 0 to 65535") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


def _servers(upstreams: Sequence[str]) -> tuple[str, ...]:
    servers: list[str] = []
    for text in upstreams:
        try:
            server = server_address(text)
        except ValueError as error:
            raise ConfigError(f"--upstream {text!r}: {error}") from None
        if server in servers:
            raise ConfigError(f"--upstream {text!r}: named twice")
        servers.append(server)
    return tuple(servers)


def _write(path: Path, text: str, *, private: bool) -> None:
    """Whole or not at all: nginx reloading meanwhile must never read half a config."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(text)
        # A config with the backend token is a secret; without, nginx's workers only need to read it.
        os.chmod(temporary, 0o600 if private else 0o644)
        os.replace(temporary, path)
    except OSError as error:
        raise ConfigError(f"nginx-config: cannot write {path}: {error.strerror}") from None
