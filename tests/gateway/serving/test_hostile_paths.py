"""Hostile request paths against a real gateway: no encoding trick reaches a file outside the
build in service, and none gets a 500 (issue 11). Raw request lines, since aiohttp's client
would normalise them; a Hypothesis property over the same pieces, through HTTP and through
``static.decide`` alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.serving.files import FileTable
from gateway.serving.static import decide
from tests.gateway.rawhttp import (
    Gateway,
    body_of,
    header_of,
    running_gateway,
    status_of,
)
from tests.gateway.sitefarm import settings_for, write_site

SECRET = b"TOPSECRET-never-served"
RULES_MARKER = b"RULES-FILE-never-served"
SERVED = {
    "public/index.html": "home-page",
    "public/sub/page.html": "sub-page",
    "public/assets/app.js": "console.log('app')",
    "public/_redirects": (
        f"# {RULES_MARKER.decode()}\n"
        "/old/*  /new/:splat  301\n"
        "/go/*  /:splat  302\n"
        "/r/*  /sub/:splat  200\n"
        "/app/*  /index.html  200\n"
        "/q id=:id  /sub/page?x=:id  301\n"
    ),
    "public/_headers": f"# {RULES_MARKER.decode()}\n/*\n  X-Hostile-Test: yes\n",
}
SERVED_BODIES = {text.encode() for name, text in SERVED.items() if not name.startswith("public/_")}
# 414 and 431 are what an oversized request line or header may get instead of a 400.
REFUSALS = {400, 404, 414, 431}
REDIRECTS = {301, 302, 308}


def plant_secrets(tmp_path: Path) -> None:
    """The secret beside the sites folder, inside it, beside the builds, and in the site's own
    folder outside public/."""
    for folder in (tmp_path, tmp_path / "sites", tmp_path / "builds", tmp_path / "sites" / "a.test"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "secret.txt").write_bytes(SECRET)
    (tmp_path / "sites" / "a.test" / "private.txt").write_bytes(SECRET)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp_path = tmp_path_factory.mktemp("hostile-paths")
    write_site(tmp_path / "sites", "a.test", SERVED)
    plant_secrets(tmp_path)
    with running_gateway(lambda backend_url: settings_for(tmp_path, backend_url=backend_url)) as running:
        assert status_of(running.get(b"/")) == 200  # the build is made before the first attack
        yield running


def assert_harmless(response: bytes) -> int:
    """The invariant every hostile path must keep; returns the status for sharper checks."""
    status = status_of(response)
    assert SECRET not in response and RULES_MARKER not in response
    assert status in {200, *REDIRECTS, *REFUSALS}, response[:300]
    if status == 200:
        assert body_of(response) in SERVED_BODIES
    if status in REDIRECTS:
        location = header_of(response, b"Location") or b""
        # On this site: a path, and not "//host" or "/\host", which browsers read as a host.
        assert location.startswith(b"/") and location[1:2] not in (b"/", b"\\"), location
    return status


CORPUS = [
    b"/../secret.txt",
    b"/../../secret.txt",
    b"/sub/../../secret.txt",
    b"/..%2fsecret.txt",
    b"/..%2f..%2fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E/%2E%2E/secret.txt",
    b"/%2e%2e%2f%2e%2e%2fsecret.txt",
    b"/.%2e/secret.txt",
    b"/%252e%252e/secret.txt",
    b"/%252e%252e%252fsecret.txt",
    b"/%25252e%25252e/secret.txt",
    b"/%c0%ae%c0%ae/secret.txt",
    b"/%c0%ae%c0%ae%c0%afsecret.txt",
    b"/%e0%80%ae%e0%80%ae/secret.txt",
    b"/%c0%2e%c0%2e/secret.txt",
    b"/..\\secret.txt",
    b"/..\\..\\secret.txt",
    b"/..%5csecret.txt",
    b"/..%5c..%5csecret.txt",
    b"/%255c..%255csecret.txt",
    b"//secret.txt",
    b"///secret.txt",
    b"//a.test/../secret.txt",
    b"//sub//page",
    b"/%00",
    b"/index.html%00",
    b"/index.html%00.txt",
    b"/secret.txt%00.html",
    b"/%2500",
    b"/sub/page;x=1",
    b"/sub;x=1/page",
    b"/..;/secret.txt",
    b"/sub/..;/..;/secret.txt",
    b"/%ef%bc%8e%ef%bc%8e/secret.txt",  # fullwidth full stops
    b"/%e2%80%a5/secret.txt",  # two dot leader: ".." under NFKC
    b"/%ef%b9%92%ef%b9%92/secret.txt",  # small full stops
    b"/%e2%80%a4%e2%80%a4/secret.txt",  # one dot leaders
    b"/%ef%bc%8f..%ef%bc%8fsecret.txt",  # fullwidth solidus
    b"/sub/page?../../secret.txt",
    b"/sub/page?x=/../../secret.txt#y",
    b"/sub/page#/../../secret.txt",
    b"/?#",
    b"/#?",
    b"/%3f/../secret.txt",
    b"/%23/../secret.txt",
    b"/sub/page%3f",
    b"/sub/page%23",
    b"/%",
    b"/%zz",
    b"/%ff",
    b"/%c0",
    b"/%ed%a0%80",  # a UTF-16 surrogate in UTF-8
    b"/" + b"a" * 10 * 1024,
    b"/" + b"a/" * 50 * 1024,
    b"/" + b"%2e%2e/" * 2000 + b"secret.txt",
    b"http://a.test/../secret.txt",
    b"http://a.test/%2e%2e/secret.txt",
    b"http://a.test//secret.txt",
    b"/secret.txt",
    b"/private.txt",
    b"/a.test/private.txt",
    b"/builds/secret.txt",
    b"/sites/secret.txt",
    b"/_redirects",
    b"/_headers",
    b"/%5fredirects",
    b"/%5Fheaders",
    b"//_redirects",
    b"/_redirects/",
    b"/_redirects;",
    b"/_redirects%00",
    b"/sub/..%2f_redirects",
    b"/r/..%2f_redirects",
    b"/r/%2e%2e/%2e%2e/secret.txt",
    b"/r/%252e%252e/%252e%252e/secret.txt",
    b"/r/..%252f..%252fsecret.txt",
    b"/old/%0d",
    b"/old/%0d%0aSet-Cookie:%20a=1",
    b"/old/%00",
    b"/old/x?y=%0d%0a",
    b"/q?id=%0d%0aSet-Cookie:%20a=1",
    b"/go//evil.example",
    b"/go/%2f%2fevil.example",
    b"/go/%2f/evil.example",
    b"/go/%5cevil.example",
    b"/go/\\evil.example",
    b"/go/%09/evil.example",
    b"/go/http:%2f%2fevil.example",
]


@pytest.mark.parametrize("target", CORPUS, ids=lambda target: target[:60].decode("latin-1"))
def test_no_known_trick_leaves_the_build_or_breaks_the_gateway(gateway: Gateway, target: bytes) -> None:
    assert_harmless(gateway.get(target))


def test_traversal_is_refused_whichever_way_it_is_encoded(gateway: Gateway) -> None:
    for target in (b"/../secret.txt", b"/%2e%2e/secret.txt", b"/..%2fsecret.txt", b"/%c0%ae%c0%ae/x", b"/..%5cx"):
        assert status_of(gateway.get(target)) == 400, target
    # Decoded once only: "%252e" is the file name "%2e", which the build does not have.
    assert status_of(gateway.get(b"/%252e%252e/secret.txt")) == 404


def test_a_control_character_in_a_redirect_splat_is_quoted_not_a_crash(gateway: Gateway) -> None:
    # Once the decoded CR went into Location, aiohttp refused to send it and the client got no
    # answer at all. (A decoded LF never gets this far: the router's ".*" stops at it, a 404.)
    for target, location in (
        (b"/old/%0d", b"/new/%0D"),
        (b"/old/%00", b"/new/%00"),
        (b"/old/a%0dSet-Cookie:%20x", b"/new/a%0DSet-Cookie%3A%20x"),
    ):
        response = gateway.get(target)
        assert status_of(response) == 301 and header_of(response, b"Location") == location
        assert header_of(response, b"Set-Cookie") is None


def test_a_query_is_passed_on_as_it_came(gateway: Gateway) -> None:
    response = gateway.get(b"/old/x?y=%0d%0a&z=%23")
    assert header_of(response, b"Location") == b"/new/x?y=%0d%0a&z=%23"
    bound = gateway.get(b"/q?id=a%26b%0d")
    assert header_of(bound, b"Location") == b"/sub/page?x=a%26b%0D"


def test_a_splat_cannot_make_a_redirect_to_another_host(gateway: Gateway) -> None:
    for target, location in (
        (b"/go//evil.example", b"/evil.example"),
        (b"/go/%2f%2fevil.example", b"/evil.example"),
        (b"/go/%5cevil.example", b"/%5Cevil.example"),
        (b"/go/%09/evil.example", b"/%09/evil.example"),
    ):
        response = gateway.get(target)
        assert status_of(response) == 302 and header_of(response, b"Location") == location, target


def test_a_rewrite_target_is_decoded_once(gateway: Gateway) -> None:
    assert body_of(gateway.get(b"/r/page")) == b"sub-page"
    # "%2570" is "%70" once decoded; decoded twice it was "p", and /sub/page was served.
    assert status_of(gateway.get(b"/r/%2570age")) == 404


PIECES = st.sampled_from(
    [
        "..", ".", "%2e", "%2E%2e", "%252e", "%25", "%c0%ae", "%c0%af", "%e0%80%ae", "\\", "%5c", "%255c",
        "/", "//", "%2f", "%252f", "%00", "%2500", ";", ";x=1", "..;", "%ef%bc%8e", "%e2%80%a5", "%ef%bc%8f",
        "?", "#", "%3f", "%23", "%0d", "%0a", "%09", "%20", "%", "%zz", "%ff", "secret.txt", "private.txt",
        "a.test", "sites", "builds", "index.html", "sub", "page", "old", "go", "r", "app", "q?id=",
        "_redirects", "_headers", "http://a.test/",
    ]
)  # fmt: skip
# Printable ASCII: bytes a request line may carry (the parser refuses CR, LF and the rest itself).
TEXT = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8)
TARGETS = st.lists(st.one_of(PIECES, PIECES, TEXT), min_size=1, max_size=14).map(lambda parts: "/" + "".join(parts))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TARGETS)
def test_no_path_built_from_tricks_leaves_the_build_or_breaks_the_gateway(gateway: Gateway, target: str) -> None:
    assert_harmless(gateway.get(target.encode("ascii")))


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> FileTable:
    tmp_path = tmp_path_factory.mktemp("hostile-table")
    plant_secrets(tmp_path)
    root = tmp_path / "builds" / "build"
    for name, text in SERVED.items():
        path = root / name.removeprefix("public/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return FileTable.scan(root)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(TARGETS, st.text(max_size=40).map(lambda text: "/" + text)))
def test_decide_serves_only_files_of_its_table(table: FileTable, target: str) -> None:
    reply = decide("GET", target, {}, table, dev=False, spa_fallback=True)
    assert reply.status in (200, 400, 404)
    if reply.status == 200:
        assert reply.source in tuple(table)
        assert reply.source.path.resolve().is_relative_to(table.root)
