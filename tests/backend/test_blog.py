"""The blog API as a site's editors and readers use it."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Visitor


async def error_of(response) -> dict[str, Any]:
    return dict((await response.json())["error"])


async def slugs(visitor: Visitor, **params: Any) -> list[str]:
    response = await visitor.get("/api/blog/posts", params=params)
    assert response.status == 200, await response.text()
    return [post["slug"] for post in (await response.json())["items"]]


async def test_an_editor_creates_a_post_and_anyone_reads_it(editor_a: Visitor) -> None:
    response = await editor_a.post(
        "/api/blog/posts",
        json={
            "title": "Crème Brûlée à la carte!",
            "body": "# Dessert\n\nSweet.",
            "summary": "A dessert",
            "tags": ["food", "french"],
            "status": "published",
        },
    )
    assert response.status == 201
    assert response.headers["Location"] == "/api/blog/posts/creme-brulee-a-la-carte"
    post = (await response.json())["post"]
    assert post["slug"] == "creme-brulee-a-la-carte"
    assert post["author"] == "editor"
    assert post["tags"] == ["food", "french"]
    assert post["published_at"] is not None and post["created_at"].endswith("Z")

    anonymous = editor_a.stranger()
    read = await anonymous.get("/api/blog/posts/creme-brulee-a-la-carte")
    assert read.status == 200
    assert (await read.json())["post"] == post


async def test_the_list_is_newest_first_and_paginated(editor_a: Visitor) -> None:
    for day in range(1, 6):
        await editor_a.publish(f"Day {day}", published_at=f"2024-05-0{day}T09:00:00Z")
    reader = editor_a.stranger()
    first = await (await reader.get("/api/blog/posts", params={"per_page": "2"})).json()
    assert [post["slug"] for post in first["items"]] == ["day-5", "day-4"]
    assert first["pagination"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert await slugs(reader, per_page=2, page=3) == ["day-1"]
    assert await slugs(reader, per_page=2, page=4) == []
    assert len(await slugs(reader)) == 5


async def test_the_list_filters_by_tag(editor_a: Visitor) -> None:
    await editor_a.publish("Python tips", tags=["python", "tips"])
    await editor_a.publish("Rust tips", tags=["rust", "tips"])
    await editor_a.publish("Cooking")
    reader = editor_a.stranger()
    assert await slugs(reader, tag="python") == ["python-tips"]
    assert sorted(await slugs(reader, tag="tips")) == ["python-tips", "rust-tips"]
    assert await slugs(reader, tag="nothing") == []


async def test_drafts_are_seen_only_by_editors(editor_a: Visitor) -> None:
    assert (await editor_a.post("/api/blog/posts", json={"title": "Secret plan"})).status == 201
    await editor_a.publish("Public news")
    reader = editor_a.stranger()
    await reader.register("reader@a.example")
    for visitor in (reader, editor_a.stranger()):
        assert await slugs(visitor) == ["public-news"]
        assert await slugs(visitor, status="draft") == ["public-news"]
        assert (await visitor.get("/api/blog/posts/secret-plan")).status == 404
    assert await slugs(editor_a) == ["public-news", "secret-plan"]
    assert await slugs(editor_a, status="draft") == ["secret-plan"]
    draft = await (await editor_a.get("/api/blog/posts/secret-plan")).json()
    assert draft["post"]["status"] == "draft" and draft["post"]["published_at"] is None


async def test_patch_changes_only_what_it_names_and_keeps_the_publication_time(editor_a: Visitor) -> None:
    original = await editor_a.publish("First title", body="Body", tags=["a"], published_at="2024-01-02T03:04:05Z")
    response = await editor_a.patch("/api/blog/posts/first-title", json={"title": "Second title"})
    assert response.status == 200
    post = (await response.json())["post"]
    assert post["title"] == "Second title"
    assert post["slug"] == "first-title"
    assert post["body"] == "Body" and post["tags"] == ["a"]
    assert post["published_at"] == "2024-01-02T03:04:05.000Z" == original["published_at"]
    assert post["updated_at"] >= original["updated_at"]


async def test_put_replaces_the_post_and_can_rename_it(editor_a: Visitor) -> None:
    await editor_a.publish("Old", body="Body", summary="Sum", tags=["a"])
    response = await editor_a.put("/api/blog/posts/old", json={"title": "New", "slug": "new", "status": "published"})
    assert response.status == 200
    post = (await response.json())["post"]
    assert (post["slug"], post["body"], post["summary"], post["tags"]) == ("new", "", "", [])
    assert (await editor_a.get("/api/blog/posts/old")).status == 404
    assert (await editor_a.get("/api/blog/posts/new")).status == 200


async def test_unpublishing_clears_the_publication_time(editor_a: Visitor) -> None:
    await editor_a.publish("Brief")
    response = await editor_a.patch("/api/blog/posts/brief", json={"status": "draft"})
    post = (await response.json())["post"]
    assert post["status"] == "draft" and post["published_at"] is None
    assert await slugs(editor_a.stranger()) == []


async def test_a_client_may_send_back_what_it_read(editor_a: Visitor) -> None:
    post = await editor_a.publish("Round trip", tags=["x"])
    post["title"] = "Round trip, edited"
    response = await editor_a.put("/api/blog/posts/round-trip", json=post)
    assert response.status == 200
    assert (await response.json())["post"]["title"] == "Round trip, edited"


async def test_deleting_a_post(editor_a: Visitor) -> None:
    await editor_a.publish("Gone soon")
    response = await editor_a.delete("/api/blog/posts/gone-soon")
    assert response.status == 204
    assert (await editor_a.get("/api/blog/posts/gone-soon")).status == 404
    assert (await editor_a.delete("/api/blog/posts/gone-soon")).status == 404


async def test_a_taken_slug_is_a_409(editor_a: Visitor) -> None:
    await editor_a.publish("Taken")
    again = await editor_a.post("/api/blog/posts", json={"title": "Taken"})
    assert again.status == 409
    assert (await error_of(again))["field"] == "slug"
    await editor_a.publish("Other")
    rename = await editor_a.patch("/api/blog/posts/other", json={"slug": "taken"})
    assert rename.status == 409
    assert (await editor_a.get("/api/blog/posts/other")).status == 200


async def test_only_editors_write(editor_a: Visitor) -> None:
    await editor_a.publish("Kept")
    anonymous = editor_a.stranger()
    reader = editor_a.stranger()
    assert (await reader.register("reader@a.example"))["role"] == "reader"
    for visitor, status in ((anonymous, 401), (reader, 403)):
        assert (await visitor.post("/api/blog/posts", json={"title": "Mine"})).status == status
        assert (await visitor.put("/api/blog/posts/kept", json={"title": "Mine"})).status == status
        assert (await visitor.patch("/api/blog/posts/kept", json={"title": "Mine"})).status == status
        assert (await visitor.delete("/api/blog/posts/kept")).status == status
    post = await (await anonymous.get("/api/blog/posts/kept")).json()
    assert post["post"]["title"] == "Kept"


LONG = "x" * 201


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": LONG}, "title"),
        ({"title": "!!!"}, "slug"),
        ({"title": "T", "slug": "Upper"}, "slug"),
        ({"title": "T", "slug": "two--hyphens"}, "slug"),
        ({"title": "T", "slug": "-edge"}, "slug"),
        ({"title": "T", "slug": "edge-"}, "slug"),
        ({"title": "T", "slug": "under_score"}, "slug"),
        ({"title": "T", "slug": "a" * 101}, "slug"),
        ({"title": "T", "slug": 7}, "slug"),
        ({"title": "T", "body": 7}, "body"),
        ({"title": "T", "body": "x" * 200_001}, "body"),
        ({"title": "T", "summary": ["x"]}, "summary"),
        ({"title": "T", "summary": "x" * 501}, "summary"),
        ({"title": "T", "tags": "python"}, "tags"),
        ({"title": "T", "tags": [1]}, "tags"),
        ({"title": "T", "tags": [""]}, "tags"),
        ({"title": "T", "tags": ["x" * 41]}, "tags"),
        ({"title": "T", "tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"title": "T", "status": "live"}, "status"),
        ({"title": "T", "status": None}, "status"),
        ({"title": "T", "author": 3}, "author"),
        ({"title": "T", "author": "x" * 101}, "author"),
        ({"title": "T", "published_at": "yesterday"}, "published_at"),
        ({"title": "T", "published_at": 1700000000}, "published_at"),
        ({"title": "T", "published_at": "2024-01-01T00:00:00Z"}, "published_at"),
        ({"title": "T", "colour": "blue"}, "colour"),
    ],
)
async def test_each_invalid_field_is_a_422_naming_it(editor_a: Visitor, fields: dict[str, Any], field: str) -> None:
    response = await editor_a.post("/api/blog/posts", json=fields)
    assert response.status == 422
    error = await error_of(response)
    assert error["code"] == "invalid"
    assert error["field"] == field
    assert field in error["message"]
    assert await slugs(editor_a) == []


async def test_patch_validates_what_it_is_given(editor_a: Visitor) -> None:
    await editor_a.publish("Fine")
    response = await editor_a.patch("/api/blog/posts/fine", json={"tags": "not-a-list"})
    assert response.status == 422
    assert (await error_of(response))["field"] == "tags"
    missing_title = await editor_a.put("/api/blog/posts/fine", json={"body": "no title"})
    assert missing_title.status == 422
    assert (await error_of(missing_title))["field"] == "title"


async def test_tags_are_trimmed_and_deduplicated(editor_a: Visitor) -> None:
    post = await editor_a.publish("Tagged", tags=[" a ", "b", "a"])
    assert post["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"title": "x"', "application/json", 400, "malformed_body"),
        (b"", "application/json", 400, "malformed_body"),
        (b'["title"]', "application/json", 400, "malformed_body"),
        (b'{"title": NaN}', "application/json", 400, "malformed_body"),
        (b"\xff\xfe{}", "application/json", 400, "malformed_body"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed_body"),
        (b'{"title": "x"}', "text/plain", 415, "unsupported_media_type"),
        (b"title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json", 413, "payload_too_large"),
    ],
)
async def test_malformed_bodies_get_a_clear_error(
    editor_a: Visitor, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = await editor_a.post("/api/blog/posts", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    error = await error_of(response)
    assert error["code"] == code
    assert "Traceback" not in error["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "1.5"}, "per_page"),
        ({"status": "archived"}, "status"),
    ],
)
async def test_bad_list_parameters_are_a_422(editor_a: Visitor, params: dict[str, str], field: str) -> None:
    response = await editor_a.get("/api/blog/posts", params=params)
    assert response.status == 422
    assert (await error_of(response))["field"] == field


async def test_unknown_routes_and_methods_answer_in_json(site_a: Visitor) -> None:
    missing = await site_a.get("/api/blog/nothing-here")
    assert missing.status == 404
    assert (await error_of(missing))["code"] == "not_found"
    wrong_method = await site_a.request("PATCH", "/api/blog/posts")
    assert wrong_method.status == 405
    assert (await error_of(wrong_method))["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    odd_slug = await site_a.get("/api/blog/posts/Not%20A%20Slug")
    assert odd_slug.status == 404
