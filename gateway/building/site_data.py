"""Build-time data from the shared backend: ``[data]`` in ``site.toml`` names API paths, which the
gateway fetches as the site's tenant and hands to the builder (builders know nothing of HTTP).

```toml
[data]
posts = "/api/blog/posts"
```
A paginated list (``{"items": [...], "pagination": {"pages": N}}``) is fetched page by page and
handed over as the list of its items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp

from builders.errors import BuildError
from gateway.config import Settings
from gateway.sites.registry import Site

MAX_PAGES = 100
PER_PAGE = 100


async def fetch_site_data(site: Site, *, session: aiohttp.ClientSession, settings: Settings) -> Mapping[str, Any]:
    wanted = site.options.get("data") or {}
    if not isinstance(wanted, Mapping) or not all(isinstance(path, str) for path in wanted.values()):
        raise BuildError("[data] in site.toml must map names to API paths", file="site.toml")
    base = site.backend_url or settings.backend_url
    headers = {"X-Tenant-Domain": site.name, "X-Site-Name": site.name, "Accept": "application/json"}
    if settings.backend_token:
        headers["X-Sitegate-Token"] = settings.backend_token
    data: dict[str, Any] = {}
    for name, path in sorted(wanted.items()):
        if not path.startswith("/api/"):
            raise BuildError(f"[data] {name} = {path!r}: an API path starts with /api/", file="site.toml")
        data[name] = await _fetch(session, base, path, headers, name)
    return data


async def _fetch(session: aiohttp.ClientSession, base: str, path: str, headers: Mapping[str, str], name: str) -> Any:
    first = await _get_json(session, base, _with_query(path, page=1, per_page=PER_PAGE), headers, name)
    if not _is_page(first):
        return first
    items = list(first["items"])
    pages = min(int(first["pagination"].get("pages") or 1), MAX_PAGES)
    for page in range(2, pages + 1):
        more = await _get_json(session, base, _with_query(path, page=page, per_page=PER_PAGE), headers, name)
        items.extend(more.get("items", []) if isinstance(more, dict) else [])
    return items


def _is_page(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("items"), list) and isinstance(document.get("pagination"), dict)


def _with_query(path: str, **extra: int) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    for key, value in extra.items():
        query.setdefault(key, str(value))
    return f"{parts.path}?{urlencode(query)}"


async def _get_json(session: aiohttp.ClientSession, base: str, path: str, headers: Mapping[str, str], name: str) -> Any:
    try:
        async with session.get(base + path, headers=headers) as response:
            if response.status != 200:
                text = (await response.text())[:300]
                raise BuildError(f"[data] {name}: the backend answered {response.status} for {path}: {text}")
            return await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        raise BuildError(f"[data] {name}: cannot fetch {path} from the backend: {error or type(error).__name__}") from error
