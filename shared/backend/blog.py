"""The blog API: posts of a tenant, published ones for everyone, all of them for editors."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from .bodies import json_time, read_json_object
from .errors import ApiError, invalid
from .keys import HOOKS, STORE
from .post_fields import SLUG_PATTERN, parse_post_fields, slugify
from .sessions import current_user, require_editor
from .store import Post, PostStatus, Role, new_id, utc_now
from .tenancy import tenant_of

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# Beyond this a page number is a mistake or a probe, and the offset would be absurd.
MAX_PAGE = 100_000
# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and other scripts' digits.
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")

# What PUT resets a field to when the client leaves it out (slug and author are kept).
PUT_DEFAULTS: Mapping[str, Any] = {"body": "", "summary": "", "tags": (), "status": PostStatus.DRAFT}

routes = web.RouteTableDef()


def _time(value: datetime | None) -> str | None:
    return None if value is None else json_time(value)


def post_json(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "slug": post.slug,
        "title": post.title,
        "summary": post.summary,
        "body": post.body,
        "tags": list(post.tags),
        "status": post.status.value,
        "author": post.author,
        "created_at": _time(post.created_at),
        "updated_at": _time(post.updated_at),
        "published_at": _time(post.published_at),
    }


def _query_value(request: web.Request, name: str) -> str | None:
    """The query parameter's value; given twice it is refused, since a cache or a proxy in
    front of us may read the other one."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise invalid(name, "must be given once")
    return values[0] if values else None


def _query_int(request: web.Request, name: str, *, default: int, maximum: int) -> int:
    raw = _query_value(request, name)
    if raw is None or raw == "":
        return default
    if not WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise invalid(name, f"must be a whole number from 1 to {maximum}")
    return int(raw)


def _query_status(request: web.Request) -> PostStatus | None:
    raw = _query_value(request, "status")
    if raw is None or raw == "":
        return None
    try:
        return PostStatus(raw)
    except ValueError:
        raise invalid("status", "must be 'draft' or 'published'") from None


def _path_slug(request: web.Request) -> str:
    slug = request.match_info["slug"]
    if not SLUG_PATTERN.fullmatch(slug):
        raise ApiError(404, "not_found", f"no post {slug!r}")
    return slug


def _publication_time(status: PostStatus, given: datetime | None, current: datetime | None) -> datetime | None:
    """When a post counts as published: what the client said, else when it first was."""
    if status is PostStatus.DRAFT:
        if given is not None:
            raise invalid("published_at", "a draft has no publication time; publish it or send null")
        return None
    return given or current or utc_now()


def _post_saved(request: web.Request, post: Post, status: int) -> web.Response:
    request.app[HOOKS].request_rebuild(post.tenant)
    return web.json_response({"post": post_json(post)}, status=status)


@routes.get("/api/blog/posts")
async def list_posts(request: web.Request) -> web.Response:
    user = await current_user(request)
    page = _query_int(request, "page", default=1, maximum=MAX_PAGE)
    per_page = _query_int(request, "per_page", default=DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE)
    status = _query_status(request)
    if user is None or user.role is not Role.EDITOR:
        status = PostStatus.PUBLISHED
    tag = (_query_value(request, "tag") or "").strip() or None
    result = await request.app[STORE].list_posts(
        tenant_of(request), status=status, tag=tag, offset=(page - 1) * per_page, limit=per_page
    )
    return web.json_response(
        {
            "items": [post_json(post) for post in result.items],
            "pagination": {
                "page": page,
                "per_page": per_page,
                "total": result.total,
                "pages": math.ceil(result.total / per_page),
            },
        }
    )


@routes.get("/api/blog/posts/{slug}")
async def get_post(request: web.Request) -> web.Response:
    slug = _path_slug(request)
    post = await request.app[STORE].get_post(tenant_of(request), slug)
    if post.status is not PostStatus.PUBLISHED:
        user = await current_user(request)
        if user is None or user.role is not Role.EDITOR:
            raise ApiError(404, "not_found", f"no post {slug!r}")
    return web.json_response({"post": post_json(post)})


@routes.post("/api/blog/posts")
async def create_post(request: web.Request) -> web.Response:
    editor = await require_editor(request)
    fields = parse_post_fields(await read_json_object(request), require_title=True)
    slug = fields.get("slug") or slugify(fields["title"])
    if not slug:
        raise invalid("slug", "cannot be made from this title; give one")
    status = fields.get("status", PostStatus.DRAFT)
    now = utc_now()
    post = Post(
        id=new_id(),
        tenant=tenant_of(request),
        slug=slug,
        title=fields["title"],
        body=fields.get("body", ""),
        summary=fields.get("summary", ""),
        tags=fields.get("tags", ()),
        status=status,
        author=fields.get("author") or editor.name,
        author_id=editor.id,
        created_at=now,
        updated_at=now,
        published_at=_publication_time(status, fields.get("published_at"), None),
    )
    created = await request.app[STORE].create_post(post.tenant, post)
    response = _post_saved(request, created, 201)
    response.headers["Location"] = f"/api/blog/posts/{created.slug}"
    return response


async def _change_post(request: web.Request, *, replace: bool) -> web.Response:
    await require_editor(request)
    slug = _path_slug(request)
    fields = parse_post_fields(await read_json_object(request), require_title=replace)
    tenant = tenant_of(request)
    store = request.app[STORE]
    current = await store.get_post(tenant, slug)
    changes: dict[str, Any] = (dict(PUT_DEFAULTS) if replace else {}) | fields
    if "author" in changes and not changes["author"]:
        del changes["author"]
    status = changes.get("status", current.status)
    changes["published_at"] = _publication_time(status, fields.get("published_at"), current.published_at)
    changes["updated_at"] = utc_now()
    updated = await store.update_post(tenant, slug, changes)
    return _post_saved(request, updated, 200)


@routes.put("/api/blog/posts/{slug}")
async def replace_post(request: web.Request) -> web.Response:
    return await _change_post(request, replace=True)


@routes.patch("/api/blog/posts/{slug}")
async def update_post(request: web.Request) -> web.Response:
    return await _change_post(request, replace=False)


@routes.delete("/api/blog/posts/{slug}")
async def delete_post(request: web.Request) -> web.Response:
    await require_editor(request)
    tenant = tenant_of(request)
    await request.app[STORE].delete_post(tenant, _path_slug(request))
    request.app[HOOKS].request_rebuild(tenant)
    return web.Response(status=204)
