"""``sitegate nginx-config``: the nginx configuration for the registered sites, at nginx's
``http`` level (one file for ``conf.d/``).

Every site gets a server block with its names and aliases. ``/api``, misses and everything
nginx does not serve itself go to the gateway, which picks the site and sets the tenant headers;
``/_sitegate/`` stays internal but for health. With ``direct``, nginx serves each site's
``current`` build from the build folder with the gateway's policy (precompressed siblings,
``immutable`` for hashed names, ``no-cache`` otherwise, clean URLs; a miss, and so a site never
built and ``404.html``, goes to the gateway). With a backend, nginx sends ``/api`` to it
straight, writing the tenant headers into each site's block. With ``upstreams``, the gateway
is several, balanced with health checks and retries (``nginx_upstream``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.building.build_dir import CURRENT
from gateway.building.rules_link import link_name
from gateway.ops.nginx_rules import HeaderMap, Inexpressible, header_maps, quoted
from gateway.ops.nginx_upstream import RETRY_ON_API, UPSTREAM, retry_settings, upstream_block
from gateway.serving.files import (
    CACHE_IMMUTABLE,
    CACHE_REVALIDATE,
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    TEXT_APPLICATION_TYPES,
)
from gateway.serving.rules import HEADERS_FILE, REDIRECTS_FILE, load_rules
from gateway.sites.auth_options import registration
from gateway.sites.registry import Registry, Site

GATEWAY = "sitegate_gateway"
BACKEND = "sitegate_backend"
# files.has_content_hash in PCRE: a [.-], then 8+ name characters holding a digit, then the
# extension. The digit is looked for ahead, as nginx has no code to run on the match.
HASHED_NAME = r"[.-](?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$"
_DEFAULT_HEADERS = {"cache-control": "$sitegate_cache_control", "x-content-type-options": "nosniff"}


@dataclass(frozen=True)
class NginxOptions:
    gateway: str  # host:port; unused with upstreams
    listen: str = "80"
    direct: bool = False
    build_dir: Path = Path("/var/lib/sitegate/builds")
    backend: str | None = None  # host:port
    backend_token: str | None = None
    brotli: bool = False
    max_body_bytes: int = 100 * 1024 * 1024
    # host:port each: several gateways in place of ``gateway``.
    upstreams: tuple[str, ...] = ()

    @property
    def to_gateway(self) -> str:
        return f"proxy_pass http://{UPSTREAM if self.upstreams else GATEWAY};"


@dataclass(frozen=True)
class SitePlan:
    site: Site
    note: str
    # The link nginx serves the site through (``rules_link``, named by the rules translated
    # here); None leaves every request of the site to the gateway.
    link: str | None = None
    maps: tuple[HeaderMap, ...] = ()
    backend: bool = False


def plan(registry: Registry, options: NginxOptions) -> list[SitePlan]:
    """What nginx does for each site (blocking: reads each current build's rules)."""
    return [_plan_site(number, site, options) for number, site in enumerate(registry.sites.values())]


def _plan_site(number: int, site: Site, options: NginxOptions) -> SitePlan:
    backend = options.backend is not None and site.backend_url is None and site.error is None
    if site.error is not None:
        return SitePlan(site, "site.toml is broken: the gateway answers for it")
    if not options.direct:
        return SitePlan(site, "served by the gateway", backend=backend)
    build = options.build_dir / site.name / CURRENT
    if not build.is_dir():
        # Its first build's rules are unknown; without any it is served here once built.
        return SitePlan(site, "never built: the gateway builds it; nginx serves it once built without rules",
                        link_name(build), backend=backend)  # fmt: skip
    try:
        maps = header_maps(load_rules(build), f"$sitegate_{number}", _DEFAULT_HEADERS)
    except Inexpressible as error:
        return SitePlan(site, f"left to the gateway: {error}", backend=backend)
    note = "served by nginx from its current build"
    if maps:
        note += f", {len(maps)} header(s) from {HEADERS_FILE}"
    return SitePlan(site, note, link_name(build), maps, backend)


def render(plans: Iterable[SitePlan], options: NginxOptions, written_by: str) -> str:
    plans = list(plans)
    sections = [_preamble(plans, options, written_by), _upstreams(options), _maps(plans, options)]
    sections.append(_server(None, options))
    sections += [_server(site_plan, options) for site_plan in plans]
    return "\n".join(sections)


def _preamble(plans: list[SitePlan], options: NginxOptions, written_by: str) -> str:
    lines = [
        f"# Written by `{written_by}` for {len(plans)} site(s).",
        "# For nginx's http block (conf.d/). Write it again after adding a site or changing names or aliases.",
        "# The gateway must trust this nginx (SITEGATE_TRUSTED_PROXIES) to read its X-Forwarded-* headers.",
    ]
    if options.direct:
        lines += [
            f"# --direct: nginx serves builds from {options.build_dir}, through each site's link named by",
            f"# its rules: a build whose {REDIRECTS_FILE} or {HEADERS_FILE} changed is served by the gateway",
            "# until this file is written again. Misses (so 404.html and single-page routes) go to the gateway.",
        ]
    if options.backend_token:
        lines.append("# It holds the backend token: keep it as private as the gateway's environment.")
    return "\n".join(lines) + "\n"


def _upstreams(options: NginxOptions) -> str:
    # Idle upstream connections close after 5 s, before the gateway's own SITEGATE_HEADER_TIMEOUT
    # (10 s) closes them: nginx must never reuse a connection the other side is closing.
    if options.upstreams:
        text = upstream_block(options.upstreams)
    else:
        text = f"upstream {GATEWAY} {{\n    server {options.gateway};\n    keepalive 32;\n    keepalive_timeout 5s;\n}}\n"
    if options.backend:
        text += f"upstream {BACKEND} {{\n    server {options.backend};\n    keepalive 32;\n    keepalive_timeout 5s;\n}}\n"
    return text


def _maps(plans: list[SitePlan], options: NginxOptions) -> str:
    text = "map $http_upgrade $sitegate_connection {\n    default upgrade;\n    '' '';\n}\n"
    if not options.direct:
        return text
    text += (
        "map $uri $sitegate_cache_control {\n"
        f'    default "{CACHE_REVALIDATE}";\n'
        f'    "~*\\.html?$" "{CACHE_REVALIDATE}";\n'
        f'    "~{HASHED_NAME}" "{CACHE_IMMUTABLE}";\n'
        "}\n"
    )
    if any(site_plan.maps for site_plan in plans):
        # Rules see /about/ as /about, matched on the path asked for, before try_files.
        text += (
            "map $sitegate_path $sitegate_rule_path {\n"
            '    "~^(?<kept>.+?)/+$" $kept;\n'
            "    default $sitegate_path;\n"
            "}\n"
        )
    for site_plan in plans:
        for header_map in site_plan.maps:
            entries = "".join(f"    {pattern} {value};\n" for pattern, value in header_map.entries)
            text += (
                f"map $sitegate_rule_path {header_map.variable} {{\n"
                f"    default {header_map.default};\n{entries}}}\n"
            )
    return text


def _server(site_plan: SitePlan | None, options: NginxOptions) -> str:
    if site_plan is None:
        head = ["# Any other host: the gateway answers (a site added since this file was written, or none).",
                "server {", f"    listen {options.listen} default_server;", "    server_name _;"]  # fmt: skip
    else:
        names = " ".join((site_plan.site.name, *site_plan.site.aliases))
        head = [f"# {site_plan.site.name}: {site_plan.note}", "server {", f"    listen {options.listen};",
                f"    server_name {names};"]  # fmt: skip
    to_gateway = options.to_gateway
    body = [
        f"client_max_body_size {options.max_body_bytes};",
        *_PROXY_SETTINGS,
        *retry_settings(options.upstreams),
        "location ^~ /_sitegate/ { return 404; }",
        f"location = /_sitegate/health {{ {to_gateway} }}",
    ]
    if site_plan is not None and site_plan.backend:
        body += _backend_locations(site_plan.site, options)
    else:
        api = f"{to_gateway} proxy_next_upstream {RETRY_ON_API};" if options.upstreams else to_gateway
        body += [f"location = /api {{ {api} }}", f"location ^~ /api/ {{ {api} }}"]
    if site_plan is not None and site_plan.link is not None:
        body += _direct(site_plan, options)
    else:
        body.append(f"location / {{ {to_gateway} }}")
    return "\n".join([*head, *(f"    {line}" for line in body), "}"]) + "\n"


_PROXY_SETTINGS = (
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    "proxy_set_header X-Forwarded-Host $host;",
    "proxy_set_header Upgrade $http_upgrade;",
    "proxy_set_header Connection $sitegate_connection;",
    # Stream both ways: uploads to /api, server-sent events, large files.
    "proxy_buffering off;",
    "proxy_request_buffering off;",
    "proxy_read_timeout 3600s;",
    "proxy_send_timeout 3600s;",
)


def _backend_locations(site: Site, options: NginxOptions) -> list[str]:
    """``/api`` straight to the backend, with the tenant headers the gateway would set: every
    one written here, so a client's own copy never passes."""
    tenant = quoted(site.name)
    headers = [
        "Host $proxy_host", f"X-Tenant-Domain {tenant}", f"X-Site-Name {tenant}",
        f"X-Sitegate-Registration {registration(site.options)}", f"X-Sitegate-Token {quoted(options.backend_token or '')}",
        "X-Real-IP $remote_addr", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme",
        "X-Forwarded-Host $host", 'Forwarded ""', "Upgrade $http_upgrade", "Connection $sitegate_connection",
    ]  # fmt: skip
    inner = " ".join([f"proxy_pass http://{BACKEND};", *(f"proxy_set_header {header};" for header in headers)])
    return [f"location = /api {{ {inner} }}", f"location ^~ /api/ {{ {inner} }}"]


def _direct(site_plan: SitePlan, options: NginxOptions) -> list[str]:
    lines = [
        f"root {options.build_dir / site_plan.site.name / site_plan.link};",
        # No disable_symlinks: builders copy the file a link leads to (inside the site), so a
        # build holds no links, and checking every path for them made nginx ~5x dearer per
        # small file (288 vs 61 us in the bench's side test).
        "error_page 418 = @sitegate;",
        f"location @sitegate {{ {options.to_gateway} }}",
        # The gateway never serves dot-files (but .well-known/) nor the rule files.
        f'location ~ "/\\.(?!well-known(?:/|$))" {{ {options.to_gateway} }}',
        f"location = /{REDIRECTS_FILE} {{ {options.to_gateway} }}",
        f"location = /{HEADERS_FILE} {{ {options.to_gateway} }}",
        "location / {",
        "    if ($request_method !~ ^(GET|HEAD)$) { return 418; }",
        "    try_files $uri $uri.html $uri/index.html @sitegate;",
        "    gzip_static on;",
        "    gzip_vary on;",
        *(["    brotli_static on;"] if options.brotli else []),
        "    charset utf-8;",
        f"    charset_types {' '.join(sorted(_charset_types()))};",
        f"    default_type {DEFAULT_CONTENT_TYPE};",
        f"    types {{ {' '.join(f'{media} {ext};' for media, ext in _types())} }}",
    ]
    mapped = {header_map.header.lower() for header_map in site_plan.maps}
    lines += [f"    add_header {name} {value};" for name, value in (("Cache-Control", "$sitegate_cache_control"),
              ("X-Content-Type-Options", "nosniff")) if name.lower() not in mapped]  # fmt: skip
    lines += [f"    add_header {header_map.header} {header_map.variable};" for header_map in site_plan.maps]
    if site_plan.maps:
        lines.insert(0, "set $sitegate_path $uri;")
    return [*lines, "}"]


def _types() -> list[tuple[str, str]]:
    by_type: dict[str, list[str]] = {}
    for suffix, media in CONTENT_TYPES.items():
        by_type.setdefault(media, []).append(suffix.lstrip("."))
    return [(media, " ".join(suffixes)) for media, suffixes in by_type.items()]


def _charset_types() -> set[str]:
    # nginx always counts text/html in, and warns when it is named again.
    named = {media for media in CONTENT_TYPES.values() if media.startswith("text/") or media in TEXT_APPLICATION_TYPES}
    return named - {"text/html"}
