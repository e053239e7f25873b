"""Hostile input to the backend's API (issue 11), on both stores: malformed, oversized and slow
bodies, wrong types in every field, duplicate keys, query junk, operator-shaped values and
other sites' ids. Whatever a client sends, the answer is a 4xx in the API's error shape, never
a 500, never a hang, and never another site's data.

The backend runs once per store in a thread of its own (``served.py``), so the synchronous
Hypothesis properties can send it hundreds of requests.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.backend.sessions import COOKIE_NAME
from shared.backend.settings import BackendSettings

from .conftest import FAST_PASSWORDS, PASSWORD, BackendFactory
from .served import Answer, Served, running_backend

# aiohttp warns of each malformed Content-Disposition it reads; sending those is the point here.
pytestmark = pytest.mark.filterwarnings(
    "ignore::aiohttp.multipart.BadContentDispositionHeader", "ignore::aiohttp.multipart.BadContentDispositionParam"
)

SITE_A, SITE_B, FUZZ = "a.example", "b.example", "fuzz.example"
# The backend's body and upload time limits here: long enough for any honest test request.
SLOW_LIMIT = 1.0
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
HUGE = "x" * 1_000_000
JSON = "application/json"

# Each JSON route, as FUZZ's editor calls it, with a body it accepts.
TARGET = "/api/blog/posts/target"
POST_FIELDS = {
    "title": "T",
    "slug": "fresh",
    "body": "b",
    "summary": "s",
    "tags": ["t"],
    "status": "draft",
    "author": "A",
    "published_at": None,
}
ROUTES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "register": (
        "POST",
        "/api/auth/register",
        {"email": "new@fuzz.example", "password": PASSWORD, "name": "N", "invitation": None},
    ),
    "login": ("POST", "/api/auth/login", {"email": f"editor@{FUZZ}", "password": PASSWORD}),
    "invitations": ("POST", "/api/auth/invitations", {"role": "reader", "email": "x@fuzz.example"}),
    "create post": ("POST", "/api/blog/posts", POST_FIELDS),
    "replace post": ("PUT", TARGET, POST_FIELDS | {"slug": "target"}),
    "change post": ("PATCH", TARGET, POST_FIELDS | {"slug": "target"}),
}
# Fields whose null means "none" rather than a wrong type.
NULLABLE = {
    ("register", "invitation"),
    ("invitations", "email"),
    *((route, "published_at") for route in ("create post", "replace post", "change post")),
}
WRONG_TYPES: list[Any] = [
    1,
    -1,
    1.5,
    10**30,
    True,
    False,
    None,
    [],
    ["x"],
    {},
    {"$gt": ""},
    {"$ne": None},
    {"$where": "sleep(1000)"},
    {"a.b": 1},
    {"$regex": ".*"},
    HUGE,
]


@pytest.fixture(scope="module", params=["sqlite", "mongo"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("hostile")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'backend.sqlite3'}"
    else:
        url = f"{request.getfixturevalue('mongo_server')}/hostile_{uuid.uuid4().hex}"
    backend_settings = BackendSettings(
        data_dir=data_dir,
        store_url=url,
        password_cost=FAST_PASSWORDS,
        login_attempts=1_000_000,
        body_timeout_seconds=SLOW_LIMIT,
        upload_timeout_seconds=SLOW_LIMIT,
    )
    with running_backend(backend_settings) as backend:
        for tenant in (SITE_A, SITE_B, FUZZ):
            backend.make_editor(tenant)
        for slug, status in (("a-public", "published"), ("a-draft", "draft")):
            created = backend.send_json(
                "POST",
                "/api/blog/posts",
                {"title": slug, "slug": slug, "tags": ["news"], "status": status},
                editor=True,
            )
            assert created.status == 201, created.body
            backend.seeded[slug] = created.json()["post"]["id"]
        backend.seeded["a-media"] = backend.upload(SITE_A, PNG, "a.png")["id"]
        assert backend.send_json("POST", "/api/blog/posts", {"title": "target"}, tenant=FUZZ, editor=True).status == 201
        yield backend


def site_a(served: Served) -> dict[str, Any]:
    """Everything of site A, as its editor sees it: posts and media."""
    posts = served.call("GET", "/api/blog/posts?per_page=100", editor=True).json()["items"]
    media = served.call("GET", f"/api/media/{served.seeded['a-media']}")
    return {"posts": posts, "media": (media.status, media.body)}


def assert_refused(answer: Answer, status: int, field: str | None = None) -> None:
    assert answer.status == status, (answer.status, answer.body[:300])
    error = answer.error()
    if field is not None:
        assert error.get("field") == field, error


def restore_target(served: Served, answer: Answer) -> None:
    """Put FUZZ's target post back under its slug when a fuzzed PUT/PATCH renamed it."""
    if answer.status == 200 and answer.json()["post"]["slug"] != "target":
        renamed = answer.json()["post"]["slug"]
        back = served.send_json("PATCH", f"/api/blog/posts/{renamed}", {"slug": "target"}, tenant=FUZZ, editor=True)
        assert back.status == 200, back.body


def call_route(served: Served, route: str, body: bytes, content_type: str | None = JSON) -> Answer:
    method, path, _ = ROUTES[route]
    answer = served.call(
        method, path, body=body, tenant=FUZZ, editor=route not in ("register", "login"), content_type=content_type
    )
    restore_target(served, answer)
    return answer


# -- malformed bodies -------------------------------------------------------------------------

MALFORMED: dict[str, tuple[bytes, str | None, int]] = {
    "truncated": (b'{"title": "a', JSON, 400),
    "a string": (b'"title"', JSON, 400),
    "a number": (b"42", JSON, 400),
    "null": (b"null", JSON, 400),
    "an array": (b'[{"title": "a"}]', JSON, 400),
    "NaN": (b'{"title": NaN}', JSON, 400),
    "Infinity": (b'{"title": Infinity}', JSON, 400),
    "-Infinity": (b'{"title": -Infinity}', JSON, 400),
    "10,000 nested arrays": (b"[" * 10_000 + b"]" * 10_000, JSON, 400),
    "10,000 nested objects": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, JSON, 400),
    "invalid UTF-8": (b'{"title": "\xff\xfe"}', JSON, 400),
    "overlong UTF-8": (b'{"title": "\xc0\xaf"}', JSON, 400),
    "UTF-8 byte order mark": (b"\xef\xbb\xbf{}", JSON, 400),
    "UTF-16": ('{"title": "a"}'.encode("utf-16"), JSON, 400),
    "empty": (b"", JSON, 400),
    "blank": (b" \r\n\t", JSON, 400),
    "trailing garbage": (b'{"title": "a"} x', JSON, 400),
    "two objects": (b"{}{}", JSON, 400),
    "a trailing NUL": (b"{}\x00", JSON, 400),
    "a 5,000 digit number": (b'{"title": ' + b"9" * 5000 + b"}", JSON, 400),
    "a duplicate key": (b'{"title": "a", "title": "b"}', JSON, 400),
    "a duplicate key deeper down": (b'{"tags": [{"a": 1, "a": 2}]}', JSON, 400),
    "a lone surrogate": (b'{"title": "\\ud800"}', JSON, 400),
    "a lone surrogate in a key": (b'{"\\udfff": 1}', JSON, 400),
    "a lone surrogate in a list": (b'{"tags": ["\\udc00"]}', JSON, 400),
    "text/plain": (b'{"title": "a"}', "text/plain", 415),
    "no content type": (b'{"title": "a"}', None, 415),
    "a form": (b"title=a", "application/x-www-form-urlencoded", 415),
    "multipart": (b"--x--\r\n", "multipart/form-data; boundary=x", 415),
    "a look-alike type": (b'{"title": "a"}', "application/jsonp", 415),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_body_is_refused_on_every_json_route(served: Served, case: str) -> None:
    body, content_type, status = MALFORMED[case]
    for route in ROUTES:
        answer = call_route(served, route, body, content_type)
        assert answer.status == status, (route, answer.status, answer.body[:300])
        answer.error()


# -- wrong types ------------------------------------------------------------------------------


def _accepts(route: str, field: str, value: Any) -> bool:
    return (value is None and (route, field) in NULLABLE) or (field == "tags" and value in ([], ["x"]))


@pytest.mark.parametrize(
    ("route", "field"), [(route, field) for route, (_, _, body) in ROUTES.items() for field in body]
)
def test_a_wrong_type_in_any_field_is_a_422_naming_it(served: Served, route: str, field: str) -> None:
    base = ROUTES[route][2]
    for value in WRONG_TYPES:
        answer = call_route(served, route, json.dumps(base | {field: value}).encode())
        if _accepts(route, field, value):
            assert answer.status in (200, 201, 409), (route, field, value, answer.body[:300])
        else:
            assert (answer.status, answer.error().get("field")) == (422, field), (route, field, str(value)[:40])


def test_a_one_megabyte_title_is_a_422_and_a_bigger_body_a_413(served: Served) -> None:
    fits = call_route(served, "create post", json.dumps({"title": HUGE}).encode())
    assert_refused(fits, 422, "title")
    too_big = call_route(served, "create post", json.dumps({"title": "x" * (1024 * 1024)}).encode())
    assert_refused(too_big, 413)


def test_a_publication_time_out_of_range_is_a_422(served: Served) -> None:
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        answer = served.send_json(
            "POST",
            "/api/blog/posts",
            {"title": "t", "status": "published", "published_at": moment},
            tenant=FUZZ,
            editor=True,
        )
        assert_refused(answer, 422, "published_at")


@pytest.mark.parametrize("slug", ["fine\n", "fine\r\n", "\nfine", "fi ne", "fine-", "FINE", "fine\u0131"])
def test_a_slug_with_a_line_break_or_other_junk_is_a_422(served: Served, slug: str) -> None:
    answer = served.send_json("POST", "/api/blog/posts", {"title": "t", "slug": slug}, tenant=FUZZ, editor=True)
    assert_refused(answer, 422, "slug")


# -- query parameters -------------------------------------------------------------------------

BAD_QUERIES: dict[str, str] = {
    "page=0": "page",
    "page=-1": "page",
    "page=1.5": "page",
    "page=abc": "page",
    "page=%C2%B2": "page",
    "page=%D9%A1": "page",
    "page=" + "9" * 5000: "page",
    "page=99999999999999999999": "page",
    "page=%201": "page",
    "page=1%20": "page",
    "page=%2B1": "page",
    "page=0x10": "page",
    "page=1e3": "page",
    "page=%00": "page",
    "per_page=0": "per_page",
    "per_page=101": "per_page",
    "per_page=-5": "per_page",
    "per_page=%C2%B3": "per_page",
    "per_page=" + "9" * 5000: "per_page",
    "page=1&page=2": "page",
    "per_page=1&per_page=100": "per_page",
    "status=DRAFT": "status",
    "status=%24ne": "status",
    "status=draft&status=published": "status",
    "tag=news&tag=other": "tag",
}


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_bad_list_parameter_is_a_422_naming_it(served: Served, query: str) -> None:
    for editor in (False, True):
        assert_refused(served.call("GET", f"/api/blog/posts?{query}", editor=editor), 422, BAD_QUERIES[query])


OPERATOR_QUERIES = [
    "status=draft",
    "tag[$ne]=x",
    "tag%5B%24ne%5D=x",
    "tag=%24ne",
    "tag[]=news",
    "tag=.*",
    "tag[$regex]=.*",
    "status[$ne]=published",
    "tag=%00",
    "tag=%ff",
    "tag=%ED%A0%80",
    "page=",
    "tag=" + "x" * 4000,
]


@pytest.mark.parametrize("query", OPERATOR_QUERIES)
def test_operator_shaped_or_junk_query_parameters_show_a_visitor_no_draft(served: Served, query: str) -> None:
    answer = served.call("GET", f"/api/blog/posts?{query}")
    assert answer.status == 200, answer.body[:300]
    assert {post["slug"] for post in answer.json()["items"]} <= {"a-public"}


# -- operator injection and tenant fields -----------------------------------------------------


@pytest.mark.parametrize("password", [{"$ne": None}, {"$gt": ""}, {"$where": "true"}, ["x"], None])
def test_an_operator_as_a_password_signs_nobody_in(served: Served, password: Any) -> None:
    answer = served.send_json("POST", "/api/auth/login", {"email": f"editor@{SITE_A}", "password": password})
    assert_refused(answer, 422, "password")
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("email", [{"$ne": None}, {"$regex": ".*"}, "$ne", "*@a.example", ".*"])
def test_an_operator_as_an_email_finds_nobody(served: Served, email: Any) -> None:
    answer = served.send_json("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status in (401, 422), answer.body[:300]
    assert "Set-Cookie" not in answer.headers


def test_a_tag_that_looks_like_an_operator_is_only_a_tag(served: Served) -> None:
    created = served.send_json(
        "POST",
        "/api/blog/posts",
        {"title": "ops", "tags": ["$ne", "a.b"], "status": "published"},
        tenant=FUZZ,
        editor=True,
    )
    assert created.status == 201, created.body
    for tag in ("$ne", "a.b"):
        found = served.call("GET", f"/api/blog/posts?tag={quote(tag)}", tenant=FUZZ).json()["items"]
        assert [post["slug"] for post in found] == ["ops"]


@pytest.mark.parametrize("key", ["tenant", "_id", "$set", "title.x", "__proto__", "author_id.$"])
def test_a_body_cannot_name_the_tenant_or_an_operator(served: Served, key: str) -> None:
    before = site_a(served)
    answer = served.send_json("POST", "/api/blog/posts", {"title": "x", key: SITE_A}, tenant=FUZZ, editor=True)
    assert_refused(answer, 422, key)
    assert site_a(served) == before


def test_another_sites_post_id_in_a_body_is_ignored(served: Served) -> None:
    before = site_a(served)
    a_id = served.seeded["a-public"]
    created = served.send_json("POST", "/api/blog/posts", {"title": "copy", "id": a_id}, tenant=SITE_B, editor=True)
    assert created.status == 201 and created.json()["post"]["id"] != a_id
    changed = served.send_json(
        "PATCH", "/api/blog/posts/copy", {"id": a_id, "title": "pwned"}, tenant=SITE_B, editor=True
    )
    assert changed.status == 200 and changed.json()["post"]["id"] != a_id
    assert site_a(served) == before


@pytest.mark.parametrize(
    "tenant", ['{"$ne": null}', "$ne", "a.example;b.example", "a.example/../b.example", "*", "a.example b.example"]
)
def test_an_operator_shaped_tenant_is_a_400(served: Served, tenant: str) -> None:
    assert_refused(served.call("GET", "/api/blog/posts", tenant=tenant), 400)


@pytest.mark.parametrize("cookie", ['{"$ne": null}', "$ne", "*", "x" * 129, "%00"])
def test_an_operator_shaped_session_signs_nobody_in(served: Served, cookie: str) -> None:
    answer = served.call("GET", "/api/auth/me", headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
    assert_refused(answer, 401)


# -- bytes a client can put in headers --------------------------------------------------------


def raw_head(
    served: Served, method: str, path: str, *, tenant: str = FUZZ, editor: bool = False, extra: bytes = b""
) -> bytes:
    cookie = f"Cookie: {COOKIE_NAME}={served.sessions[tenant]}\r\n".encode() if editor else b""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: backend\r\nX-Tenant-Domain: {tenant}\r\n".encode()
        + b"X-Sitegate-Registration: open\r\n"
        + cookie
        + extra
        + b"\r\n"
    )


def read_response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response read off ``conn`` by its Content-Length (the backend may keep the
    connection open afterwards, reading what the client still sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = conn.recv(65536)
        assert chunk, "connection closed inside the response body"
        body += chunk
    return int(lines[0].split(" ", 2)[1]), headers, body


def exchange(served: Served, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with served.connect() as conn:
        conn.sendall(data)
        return read_response(conn)


def test_a_session_cookie_that_is_not_utf8_signs_nobody_in(served: Served) -> None:
    status, _, body = exchange(
        served, raw_head(served, "GET", "/api/auth/me", extra=f"Cookie: {COOKIE_NAME}=\xff\xfe\r\n".encode("latin-1"))
    )
    assert status == 401, body


async def test_a_backend_token_that_is_not_utf8_is_a_401(start_backend: BackendFactory) -> None:
    backend = await start_backend(backend_token="s3cret")
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.server.port)
    writer.write(
        b"GET /api/auth/me HTTP/1.1\r\nHost: b\r\nX-Tenant-Domain: a.example\r\n"
        b"X-Sitegate-Token: \xff\xfe\r\nConnection: close\r\n\r\n"
    )
    response = await reader.read()
    writer.close()
    assert response.startswith(b"HTTP/1.1 401 "), response[:300]


# -- huge and slow bodies ---------------------------------------------------------------------

BIG = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'


@pytest.mark.parametrize("route", ["register", "create post"])
def test_a_body_over_the_limit_is_a_413(served: Served, route: str) -> None:
    method, path, _ = ROUTES[route]
    head = raw_head(
        served,
        method,
        path,
        editor=route != "register",
        extra=f"Content-Type: {JSON}\r\nContent-Length: {len(BIG)}\r\n".encode(),
    )
    status, _, body = exchange(served, head + BIG)
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large", body


def test_a_chunked_body_over_the_limit_is_a_413(served: Served) -> None:
    head = raw_head(
        served, "POST", "/api/auth/register", extra=f"Content-Type: {JSON}\r\nTransfer-Encoding: chunked\r\n".encode()
    )
    chunks = b"".join(
        b"%x\r\n" % len(piece) + piece + b"\r\n" for piece in (BIG[i : i + 65536] for i in range(0, len(BIG), 65536))
    )
    status, _, body = exchange(served, head + chunks + b"0\r\n\r\n")
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large", body


def test_a_declared_length_over_the_limit_is_refused_before_any_body_arrives(served: Served) -> None:
    head = raw_head(
        served,
        "POST",
        "/api/auth/register",
        extra=f"Content-Type: {JSON}\r\nContent-Length: {100 * 1024 * 1024}\r\n".encode(),
    )
    with served.connect() as conn:
        conn.settimeout(SLOW_LIMIT / 2)
        conn.sendall(head)
        status, _, body = read_response(conn)
    assert status == 413, body


def trickle(served: Served, requests: list[bytes]) -> list[tuple[int, bytes, float]]:
    """Send each of ``requests`` (a head and the start of its body) on a connection of its own,
    then one more byte on each every quarter second until the backend answers them all: per
    request, the status, the body and how long the answer took."""
    conns = [served.connect() for _ in requests]
    try:
        for conn, data in zip(conns, requests):
            conn.sendall(data)
        started = time.monotonic()
        answers: dict[int, tuple[int, bytes, float]] = {}
        while len(answers) < len(conns) and time.monotonic() - started < SLOW_LIMIT + 5:
            waiting = [conn for index, conn in enumerate(conns) if index not in answers]
            readable, _, _ = select.select(waiting, [], [], 0.25)
            for conn in readable:
                status, _, body = read_response(conn)
                answers[conns.index(conn)] = (status, body, time.monotonic() - started)
            for conn in waiting:
                if conn not in readable:
                    conn.sendall(b" ")
    finally:
        for conn in conns:
            conn.close()
    assert len(answers) == len(conns), f"no answer to {len(conns) - len(answers)} slow bodies {SLOW_LIMIT + 5} s on"
    return [answers[index] for index in range(len(conns))]


def test_a_body_sent_a_byte_at_a_time_is_cut_off(served: Served) -> None:
    """The JSON routes, and an upload that has begun its file."""
    requests = [
        raw_head(
            served,
            method,
            path,
            editor=route == "create post",
            extra=f"Content-Type: {JSON}\r\nContent-Length: 100000\r\n".encode(),
        )
        for route, (method, path, _) in ROUTES.items()
        if route in ("register", "login", "create post")
    ]
    upload = raw_head(
        served,
        "POST",
        "/api/media",
        tenant=SITE_A,
        editor=True,
        extra=b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n",
    )
    part = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n' + PNG
    )
    for status, body, took in trickle(served, [*requests, upload + part]):
        assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout", body
        assert took < SLOW_LIMIT + 2


# -- media file names -------------------------------------------------------------------------

FILENAMES = [
    b'filename="../../../etc/passwd.png"',
    b'filename="a\\\\..\\\\b.png"',
    b'filename="a\x00b.png"',
    b'filename="\xff\xfe.png"',
    b'filename="$where.png"',
    b'filename="' + b"x" * 5000 + b'.png"',
    b"filename*=UTF-8''%ED%A0%80.png",
    b"filename*=UTF-8''%0D%0ALocation%3A%20x.png",
    b'filename=""',
]


@pytest.mark.parametrize("disposition", FILENAMES)
def test_a_hostile_file_name_is_cleaned_or_refused(served: Served, disposition: bytes) -> None:
    form = (
        b'--b\r\nContent-Disposition: form-data; name="file"; '
        + disposition
        + b"\r\nContent-Type: image/png\r\n\r\n"
        + PNG
        + b"\r\n--b--\r\n"
    )
    answer = served.call(
        "POST", "/api/media", body=form, tenant=SITE_A, editor=True, content_type="multipart/form-data; boundary=b"
    )
    assert answer.status < 500, answer.body[:300]
    if answer.status == 201:
        media = answer.json()["media"]
        assert "/" not in media["filename"] and "\x00" not in media["filename"] and len(media["filename"]) <= 200
        assert served.call("GET", media["url"]).status == 200
        assert served.call("DELETE", media["url"], tenant=SITE_A, editor=True).status == 204


MALFORMED_FORMS: dict[str, tuple[str, bytes]] = {
    "no boundary": ("multipart/form-data", b"--b\r\n\r\n"),
    "a boundary over 70 characters": ("multipart/form-data; boundary=" + "b" * 100, b""),
    "no closing boundary": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n',
    ),
    "not a form at all": ("multipart/form-data; boundary=b", b"hello"),
    "a NUL in a part header": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="fi\x00le"\r\n\r\nx\r\n--b--\r\n',
    ),
    "a part header without a colon": ("multipart/form-data; boundary=b", b"--b\r\nnonsense\r\n\r\nx\r\n--b--\r\n"),
    "an empty form": ("multipart/form-data; boundary=b", b"--b--\r\n"),
}


@pytest.mark.parametrize("case", MALFORMED_FORMS)
def test_a_malformed_form_is_a_4xx(served: Served, case: str) -> None:
    content_type, body = MALFORMED_FORMS[case]
    answer = served.call("POST", "/api/media", body=body, tenant=SITE_A, editor=True, content_type=content_type)
    assert 400 <= answer.status < 500, answer.body[:300]
    answer.error()


# -- properties -------------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "",
    " ",
    "$gt",
    "$ne",
    "$where",
    "a.b",
    "\x00",
    "\ud800",
    "\udfff",
    f"editor@{FUZZ}",
    PASSWORD,
    "draft",
    "published",
    "reader",
    "editor",
    "2024-05-01T09:30:00Z",
    "0001-01-01T00:00:00+14:00",
    "news",
    "target",
    "x" * 300,
]
FIELD_NAMES = sorted({field for _, _, body in ROUTES.values() for field in body} | {"role", "id", "created_at"})
KEYS = st.sampled_from([*FIELD_NAMES, "$gt", "$where", "a.b", "_id", "tenant", "__proto__"]) | st.text(max_size=8)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(HOSTILE_STRINGS)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
BODIES = st.dictionaries(KEYS, JSON_VALUES, max_size=8) | JSON_VALUES
PROPERTY = settings(max_examples=100, deadline=None)


def assert_answered(answer: Answer) -> None:
    assert answer.status < 500, answer.body[:300]
    if answer.status >= 400:
        answer.error()


@PROPERTY
@given(route=st.sampled_from(sorted(ROUTES)), value=BODIES)
def test_any_json_value_as_a_body_is_answered_below_500(served: Served, route: str, value: Any) -> None:
    assert_answered(call_route(served, route, json.dumps(value).encode()))


@PROPERTY
@given(route=st.sampled_from(sorted(ROUTES)), body=st.binary(max_size=300))
def test_any_bytes_as_a_body_are_answered_below_500(served: Served, route: str, body: bytes) -> None:
    assert_answered(call_route(served, route, body))


QUERY_KEYS = st.sampled_from(["page", "per_page", "tag", "status", "tag[$ne]", "status[$ne]", "$where"]) | st.text(
    max_size=8
)
QUERY_VALUES = (
    st.text(max_size=12)
    | st.integers().map(str)
    | st.sampled_from(["draft", "published", "news", "$ne", "²", "9" * 30])
)


@PROPERTY
@given(pairs=st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=5), as_editor_of_b=st.booleans())
def test_no_query_shows_a_visitor_a_draft_or_anyone_another_sites_posts(
    served: Served, pairs: list[tuple[str, str]], as_editor_of_b: bool
) -> None:
    tenant = SITE_B if as_editor_of_b else SITE_A
    answer = served.call(
        "GET", f"/api/blog/posts?{urlencode(pairs, quote_via=quote)}", tenant=tenant, editor=as_editor_of_b
    )
    assert_answered(answer)
    if answer.status == 200:
        ids = {post["id"] for post in answer.json()["items"]}
        allowed_of_a = set() if as_editor_of_b else {served.seeded["a-public"]}
        assert not ids & ({served.seeded["a-public"], served.seeded["a-draft"]} - allowed_of_a)


def test_site_a_ids_used_by_site_b_find_and_change_nothing(served: Served) -> None:
    before = site_a(served)
    seeds = {"a-public", "a-draft", served.seeded["a-public"], served.seeded["a-draft"], served.seeded["a-media"]}
    ids = (
        st.sampled_from(sorted(seeds))
        | st.from_regex(r"[A-Za-z0-9_-]{22}", fullmatch=True)
        | st.text(min_size=1, max_size=30)
    )

    @PROPERTY
    @given(ident=ids)
    def from_site_b(ident: str) -> None:
        path = quote(ident, safe="")
        for method, route, body in (
            ("GET", "/api/blog/posts/", None),
            ("PATCH", "/api/blog/posts/", {"title": "pwned"}),
            ("PUT", "/api/blog/posts/", {"title": "pwned"}),
            ("DELETE", "/api/blog/posts/", None),
            ("GET", "/api/media/", None),
            ("DELETE", "/api/media/", None),
        ):
            encoded = None if body is None else json.dumps(body).encode()
            answer = served.call(method, route + path, body=encoded, tenant=SITE_B, editor=True)
            assert_answered(answer)
            if ident in seeds:
                assert answer.status == 404, (method, route, ident, answer.status)

    from_site_b()
    assert site_a(served) == before
    assert_refused(
        served.call(
            "GET", "/api/auth/me", tenant=SITE_B, headers={"Cookie": f"{COOKIE_NAME}={served.sessions[SITE_A]}"}
        ),
        401,
    )


# Pieces of a form, so that examples get past the boundary into part headers and content.
FORM_PIECES = [b"--b", b"\r\n", b"--", b"Content-Disposition: form-data; ", b'name="file"', b'filename="a.png"']
FORMS = st.binary(max_size=300) | st.lists(st.sampled_from([*FORM_PIECES, b":", b"\x00", PNG[:16]]), max_size=20).map(
    b"".join
)


@PROPERTY
@given(body=FORMS)
def test_any_bytes_as_a_form_are_answered_below_500(served: Served, body: bytes) -> None:
    answer = served.call(
        "POST", "/api/media", body=body, tenant=FUZZ, editor=True, content_type="multipart/form-data; boundary=b"
    )
    assert_answered(answer)
