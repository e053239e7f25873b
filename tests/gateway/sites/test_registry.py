import asyncio
import logging
import os
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.sites.auth_options import registration
from gateway.sites.hosts import InvalidHost, normalize_host
from gateway.sites.registry import Registry, load_site, scan_signature

KNOWN_BUILDERS = frozenset({"static", "jinja", "command"})


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    folder = tmp_path / "sites"
    folder.mkdir()
    return folder


def make_site(sites: Path, folder: str, toml: str | None = None) -> Path:
    root = sites / folder
    root.mkdir()
    if toml is not None:
        (root / "site.toml").write_text(toml, encoding="utf-8")
    return root


def scan(sites: Path) -> Registry:
    return Registry.scan(sites, KNOWN_BUILDERS)


def resolved_name(registry: Registry, host: str) -> str | None:
    site = registry.resolve(host)
    return None if site is None else site.name


def test_a_site_is_reached_by_its_name_and_its_aliases(sites: Path) -> None:
    make_site(sites, "example.com", 'aliases = ["www.example.com", "example.org"]\n')
    registry = scan(sites)

    assert resolved_name(registry, "example.com") == "example.com"
    assert resolved_name(registry, "www.example.com") == "example.com"
    assert resolved_name(registry, "example.org") == "example.com"
    assert registry.sites["example.com"].aliases == ("www.example.com", "example.org")


def test_the_most_specific_wildcard_wins_and_the_apex_is_not_matched(sites: Path) -> None:
    make_site(sites, "all.test", 'aliases = ["*.example.com"]\n')
    make_site(sites, "blog.test", 'aliases = ["*.blog.example.com"]\n')
    make_site(sites, "shop.example.com")
    registry = scan(sites)

    assert resolved_name(registry, "a.example.com") == "all.test"
    assert resolved_name(registry, "a.b.example.com") == "all.test"
    assert resolved_name(registry, "x.blog.example.com") == "blog.test"
    assert resolved_name(registry, "y.x.blog.example.com") == "blog.test"
    assert resolved_name(registry, "blog.example.com") == "all.test"
    assert resolved_name(registry, "shop.example.com") == "shop.example.com"
    assert registry.resolve("example.com") is None


@pytest.mark.parametrize(
    "host",
    ["example.com:3000", "EXAMPLE.com", "Example.Com:443", "example.com.", "example.com.:8080", "example.com:"],
)
def test_port_case_and_trailing_dot_do_not_matter(sites: Path, host: str) -> None:
    make_site(sites, "example.com")

    assert resolved_name(scan(sites), host) == "example.com"


def test_a_punycode_folder_is_reached_by_the_unicode_host(sites: Path) -> None:
    make_site(sites, "xn--bcher-kva.example")
    registry = scan(sites)

    assert resolved_name(registry, "bücher.example") == "xn--bcher-kva.example"
    assert resolved_name(registry, "BÜCHER.example:8080") == "xn--bcher-kva.example"
    assert resolved_name(registry, "bücher。example") == "xn--bcher-kva.example"
    assert resolved_name(registry, "xn--bcher-kva.example") == "xn--bcher-kva.example"


def test_a_unicode_folder_is_reached_by_the_punycode_host(sites: Path) -> None:
    make_site(sites, "bücher.example", 'aliases = ["www.bücher.example"]\n')
    registry = scan(sites)

    assert resolved_name(registry, "xn--bcher-kva.example") == "xn--bcher-kva.example"
    assert resolved_name(registry, "www.xn--bcher-kva.example") == "xn--bcher-kva.example"
    assert registry.sites["xn--bcher-kva.example"].root == sites / "bücher.example"


def test_an_ipv6_literal_with_a_port_is_valid_but_no_site_unless_configured(sites: Path) -> None:
    make_site(sites, "example.com")
    assert scan(sites).resolve("[::1]:3000") is None

    make_site(sites, "local.test", 'aliases = ["[::1]", "127.0.0.1", "localhost"]\n')
    registry = scan(sites)
    assert resolved_name(registry, "[::1]:3000") == "local.test"
    assert resolved_name(registry, "[0:0::1]") == "local.test"
    assert resolved_name(registry, "127.0.0.1:3000") == "local.test"
    assert resolved_name(registry, "LOCALHOST") == "local.test"


def test_normalize_host_gives_the_canonical_form() -> None:
    assert normalize_host("Bücher.Example.:80") == "xn--bcher-kva.example"
    assert normalize_host("[::1]:3000") == "[::1]"
    assert normalize_host("my_site.test") == "my_site.test"
    assert normalize_host("bücher。example。") == "xn--bcher-kva.example"
    assert normalize_host("XN--BCHER-KVA.example") == "xn--bcher-kva.example"
    assert normalize_host("💩.la") == normalize_host("xn--ls8h.la") == "xn--ls8h.la"
    assert normalize_host("ß.de") == "xn--zca.de"
    assert normalize_host("a" * 63 + ".com") == "a" * 63 + ".com"


@pytest.mark.parametrize(
    "host",
    [
        "",
        ".",
        "/",
        "evil.com/x",
        "evil\\com",
        "..",
        "a..b",
        ".evil.com",
        "evil.com..",
        "evil\x00.com",
        "evil.com\r\nX-Injected: 1",
        "evil .com",
        " evil.com",
        "evil.com\t",
        "a." * 126 + "ab",
        "a" * 64 + ".com",
        "-bad.com",
        "bad-.com",
        "evil.com:99999",
        "evil.com:abc",
        "evil.com:-1",
        "evil.com:+80",
        "evil.com:8_0",
        "::1",
        "[::1",
        "[::1]x",
        "[not-ip]:80",
        "[fe80::1%eth0]",
        "user@evil.com",
        "evil.com%2f",
        "xn--zz.com",
        "xn--.com",
        "xn--abc-.com",
        "\udcff.com",
        "a" * 5000,
    ],
)
def test_hostile_hosts_are_rejected(sites: Path, host: str) -> None:
    make_site(sites, "example.com")
    registry = scan(sites)

    with pytest.raises(InvalidHost) as first:
        registry.resolve(host)
    # The second time comes from the registry's cache and must refuse just the same.
    with pytest.raises(InvalidHost) as second:
        registry.resolve(host)
    assert first.value.reason == second.value.reason != ""


def test_a_valid_unknown_host_resolves_to_none(sites: Path) -> None:
    make_site(sites, "example.com", 'aliases = ["*.example.com"]\n')
    registry = scan(sites)

    assert registry.resolve("unknown.test") is None
    assert registry.resolve("example.org:8080") is None
    assert registry.resolve("notexample.com") is None


def test_a_folder_without_site_toml_is_a_default_site(sites: Path) -> None:
    make_site(sites, "plain.test")
    (make_site(sites, "pages.test") / "pages").mkdir()
    registry = scan(sites)

    assert registry.sites["plain.test"].builder == "static"
    assert registry.sites["pages.test"].builder == "jinja"
    assert registry.sites["plain.test"].error is None


def test_site_toml_fields_become_the_site(sites: Path) -> None:
    make_site(
        sites,
        "blog.test",
        """
builder = "command"
build = "npm run build"
output = "dist"
timeout = 120
data = ["posts", "authors"]
[api]
backend = "https://api.example.com/"
[env]
NODE_ENV = "production"
[theme]
primary = "#3B82F6"
[theme.fonts]
body = "Inter"
""",
    )
    site = scan(sites).sites["blog.test"]

    assert site.error is None
    assert site.builder == "command"
    assert site.backend_url == "https://api.example.com"
    assert dict(site.env) == {"NODE_ENV": "production"}
    assert site.options["build"] == "npm run build"
    assert site.options["output"] == "dist"
    assert site.options["timeout"] == 120
    assert list(site.options["data"]) == ["posts", "authors"]
    assert site.options["theme"]["primary"] == "#3B82F6"
    assert site.options["theme"]["fonts"]["body"] == "Inter"
    assert "builder" not in site.options and "env" not in site.options


def test_site_options_cannot_be_changed_by_whoever_shares_the_site(sites: Path) -> None:
    make_site(sites, "blog.test", 'data = ["posts"]\n[theme]\nprimary = "#fff"\n[env]\nA = "1"\n')
    site = scan(sites).sites["blog.test"]

    with pytest.raises(TypeError):
        site.options["theme"]["primary"] = "#000"  # type: ignore[index]
    with pytest.raises(TypeError):
        site.options["new"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        site.options["data"].append("more")
    with pytest.raises(TypeError):
        site.env["B"] = "2"  # type: ignore[index]


def test_broken_site_toml_names_file_and_line_and_other_sites_still_load(sites: Path) -> None:
    make_site(sites, "broken.test", 'builder = "static"\naliases = ["www.broken.test"]\ntheme = = 1\n')
    make_site(sites, "good.test", 'aliases = ["www.good.test"]\n')
    registry = scan(sites)

    broken = registry.sites["broken.test"]
    assert broken.error is not None
    assert broken.error.startswith("sites/broken.test/site.toml, line 3: ")
    assert resolved_name(registry, "broken.test") == "broken.test"
    assert resolved_name(registry, "www.good.test") == "good.test"
    assert registry.sites["good.test"].error is None


def test_site_toml_cut_short_names_its_last_line(sites: Path) -> None:
    make_site(sites, "cut.test", 'builder = "static"\naliases = ["a.test",\n')

    error = scan(sites).sites["cut.test"].error
    assert error is not None and error.startswith("sites/cut.test/site.toml, line 2: ")


def test_site_toml_that_is_not_utf8_is_an_error(sites: Path) -> None:
    root = make_site(sites, "latin.test")
    (root / "site.toml").write_bytes(b'title = "caf\xe9"\n')

    assert scan(sites).sites["latin.test"].error == "sites/latin.test/site.toml: not UTF-8 text"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('aliases = "www.x.test"\n', "aliases"),
        ('aliases = ["ok.test", "bad host"]\n', "aliases[1]"),
        ("aliases = [42]\n", "aliases[0]"),
        ('aliases = ["*"]\n', "aliases[0]"),
        ('aliases = ["a.*.test"]\n', "aliases[0]"),
        ('aliases = ["x.test:8080"]\n', "aliases[0]"),
        ('builder = "hugo"\n', "builder"),
        ("builder = 3\n", "builder"),
        ('builder = ["static"]\n', "builder"),
        ('api = "http://x"\n', "api"),
        ('[api]\nbackend = "ftp://files.test"\n', "api.backend"),
        ('[api]\nbackend = "not a url"\n', "api.backend"),
        ('[api]\nbackend = "http://x.test:99999"\n', "api.backend"),
        ("[api]\nbackend = 8000\n", "api.backend"),
        ('env = "A=1"\n', "env"),
        ("[env]\nPORT = 3000\n", "env.PORT"),
        ('[env]\n"BAD=NAME" = "1"\n', "env.BAD=NAME"),
        ('theme = "dark"\n', "theme"),
        ('auth = "open"\n', "auth"),
        ('[auth]\nregistration = "yes"\n', "auth.registration"),
        ("[auth]\nregistration = true\n", "auth.registration"),
        ('[auth]\nregistraton = "open"\n', "auth.registraton"),
    ],
)
def test_invalid_fields_become_an_error_naming_file_and_key(sites: Path, toml: str, key: str) -> None:
    make_site(sites, "bad.test", toml)
    site = scan(sites).sites["bad.test"]

    assert site.error is not None
    assert site.error.startswith("sites/bad.test/site.toml: ")
    assert key in site.error


@pytest.mark.parametrize(
    ("toml", "expected"),
    [(None, "closed"), ("[auth]\n", "closed"), ('[auth]\nregistration = "closed"\n', "closed"),
     ('[auth]\nregistration = "open"\n', "open")],
)
def test_registration_is_closed_unless_site_toml_opens_it(sites: Path, toml: str | None, expected: str) -> None:
    make_site(sites, "blog.test", toml)
    site = scan(sites).sites["blog.test"]

    assert site.error is None
    assert registration(site.options) == expected


def test_a_site_with_an_invalid_field_still_answers_to_its_aliases(sites: Path) -> None:
    make_site(sites, "bad.test", 'aliases = ["www.bad.test"]\nbuilder = "hugo"\n')
    registry = scan(sites)

    site = registry.resolve("www.bad.test")
    assert site is not None and site.name == "bad.test"
    assert site.error is not None and "builder" in site.error


def test_every_invalid_field_is_reported_at_once(sites: Path) -> None:
    make_site(sites, "bad.test", 'builder = "hugo"\ntheme = 1\n')

    error = scan(sites).sites["bad.test"].error
    assert error is not None and "builder" in error and "theme" in error


def test_load_site_refuses_a_folder_that_is_no_host_name(sites: Path) -> None:
    with pytest.raises(InvalidHost):
        load_site(make_site(sites, "foo bar"), KNOWN_BUILDERS)


def test_folders_that_are_not_host_names_are_skipped_with_a_warning(
    sites: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_site(sites, "example.com")
    make_site(sites, ".hidden")
    make_site(sites, "foo bar")
    make_site(sites, "-dash.test")
    (sites / "README.md").write_text("# sites\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="gateway.sites.registry"):
        registry = scan(sites)

    assert list(registry.sites) == ["example.com"]
    assert any("'foo bar'" in warning for warning in registry.warnings)
    assert any("'.hidden'" in warning for warning in registry.warnings)
    assert any("'-dash.test'" in warning for warning in registry.warnings)
    assert "foo bar" in caplog.text


def test_a_folder_name_is_normalised(sites: Path) -> None:
    make_site(sites, "Example.COM")
    registry = scan(sites)

    assert list(registry.sites) == ["example.com"]
    assert registry.sites["example.com"].root == sites / "Example.COM"
    assert resolved_name(registry, "example.com") == "example.com"


def test_a_duplicate_alias_stays_with_the_first_site_and_warns(
    sites: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_site(sites, "a.test", 'aliases = ["shared.test", "*.wild.test"]\n')
    make_site(sites, "b.test", 'aliases = ["shared.test", "*.wild.test", "only-b.test"]\n')
    with caplog.at_level(logging.WARNING, logger="gateway.sites.registry"):
        registry = scan(sites)

    assert resolved_name(registry, "shared.test") == "a.test"
    assert resolved_name(registry, "x.wild.test") == "a.test"
    assert resolved_name(registry, "only-b.test") == "b.test"
    assert registry.sites["b.test"].aliases == ("only-b.test",)
    assert registry.sites["b.test"].error is None
    assert any("shared.test" in warning and "a.test" in warning for warning in registry.warnings)
    assert "shared.test" in caplog.text


def test_a_site_name_beats_another_sites_alias(sites: Path) -> None:
    make_site(sites, "a.test", 'aliases = ["b.test"]\n')
    make_site(sites, "b.test")
    registry = scan(sites)

    assert resolved_name(registry, "b.test") == "b.test"
    assert registry.sites["a.test"].aliases == ()
    assert any("b.test" in warning for warning in registry.warnings)


def test_two_folders_with_the_same_host_keep_the_first(sites: Path) -> None:
    make_site(sites, "bücher.example", 'builder = "jinja"\n')
    make_site(sites, "xn--bcher-kva.example", 'builder = "command"\n')
    registry = scan(sites)

    assert registry.sites["xn--bcher-kva.example"].builder == "jinja"
    assert any("xn--bcher-kva.example" in warning for warning in registry.warnings)


def test_a_missing_sites_folder_gives_an_empty_registry_with_a_warning(tmp_path: Path) -> None:
    registry = Registry.scan(tmp_path / "nowhere", KNOWN_BUILDERS)

    assert registry.sites == {}
    assert registry.resolve("example.com") is None
    assert registry.warnings


def test_scan_signature_changes_when_a_site_is_added_removed_or_touched(sites: Path) -> None:
    root = make_site(sites, "a.test", 'builder = "static"\n')
    first = scan_signature(sites)
    assert scan_signature(sites) == first
    assert scan(sites).signature == first

    make_site(sites, "b.test")
    added = scan_signature(sites)
    assert added != first

    stat = (root / "site.toml").stat()
    os.utime(root / "site.toml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = scan_signature(sites)
    assert touched != added

    (sites / "b.test").rmdir()
    removed = scan_signature(sites)
    assert removed not in (added, touched)

    (root / "site.toml").unlink()
    assert scan_signature(sites) != removed


def test_scan_signature_changes_when_pages_decides_the_default_builder(sites: Path) -> None:
    root = make_site(sites, "a.test", 'aliases = ["www.a.test"]\n')
    before = scan_signature(sites)
    assert scan(sites).sites["a.test"].builder == "static"

    (root / "pages").mkdir()

    assert scan_signature(sites) != before
    assert scan(sites).sites["a.test"].builder == "jinja"


def test_scan_signature_ignores_files_beside_the_sites(sites: Path) -> None:
    make_site(sites, "a.test")
    before = scan_signature(sites)
    (sites / "README.md").write_text("# sites\n", encoding="utf-8")

    assert scan_signature(sites) == before


async def raw_request(port: int, host_header: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: " + host_header + b"\r\nConnection: close\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response


async def test_host_headers_as_aiohttp_delivers_them_reach_the_site(
    sites: Path, aiohttp_server: AiohttpServer
) -> None:
    make_site(sites, "xn--bcher-kva.example", 'aliases = ["*.bücher.example"]\n')
    registry = scan(sites)

    async def which_site(request: web.Request) -> web.Response:
        try:
            site = registry.resolve(request.host)
        except InvalidHost as error:
            return web.Response(status=400, text=error.reason)
        return web.Response(status=404 if site is None else 200, text=site.name if site else "unknown")

    app = web.Application()
    app.router.add_get("/", which_site)
    server = await aiohttp_server(app)

    unicode_host = await raw_request(server.port, "BÜCHER.example:8080".encode())
    wildcard_host = await raw_request(server.port, b"shop.xn--bcher-kva.example.")
    unknown_host = await raw_request(server.port, b"[::1]:3000")
    bad_port = await raw_request(server.port, b"xn--bcher-kva.example:http")

    assert unicode_host.startswith(b"HTTP/1.1 200") and unicode_host.endswith(b"xn--bcher-kva.example")
    assert wildcard_host.startswith(b"HTTP/1.1 200") and wildcard_host.endswith(b"xn--bcher-kva.example")
    assert unknown_host.startswith(b"HTTP/1.1 404")
    assert bad_port.startswith(b"HTTP/1.1 400")
