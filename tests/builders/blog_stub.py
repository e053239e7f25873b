"""Test helpers: a stand-in for the shared backend's blog API, for builds that fetch ``[data]``."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

POST: dict[str, Any] = {
    "id": 1,
    "slug": "first-light",
    "title": "First light",
    "summary": "The summary of the first post.",
    "body": "The first paragraph.\n\nThe second paragraph.",
    "tags": ["news", "forge"],
    "status": "published",
    "author": "ada",
    "created_at": "2025-03-02T10:00:00Z",
    "updated_at": "2025-03-02T10:00:00Z",
    "published_at": "2025-03-02T10:00:00Z",
}


@pytest.fixture
async def blog_backend(aiohttp_server) -> tuple[str, list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """(the backend's URL, its published posts): append to the list to publish a post."""
    posts = [dict(POST)]

    async def list_posts(request: web.Request) -> web.Response:
        return web.json_response({"items": posts, "pagination": {"page": 1, "per_page": 10, "total": len(posts), "pages": 1}})

    app = web.Application()
    app.router.add_get("/api/blog/posts", list_posts)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}", posts
