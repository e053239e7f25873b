"""Netlify `_redirects` and `_headers` as the gateway reads them from a build folder."""

from __future__ import annotations

from pathlib import Path

from gateway.serving.rules import RedirectMatch, SiteRules, load_rules


def rules_from(tmp_path: Path, redirects: str = "", headers: str = "") -> SiteRules:
    if redirects:
        (tmp_path / "_redirects").write_text(redirects)
    if headers:
        (tmp_path / "_headers").write_text(headers)
    return load_rules(tmp_path)


def test_a_build_without_rule_files_has_no_rules(tmp_path: Path) -> None:
    rules = load_rules(tmp_path)
    assert rules.match_redirect("/anything", "") is None
    assert rules.headers_for("/anything") == []
    assert rules.problems == ()


def test_status_defaults_to_301_and_each_code_is_kept(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        "# moved pages\n"
        "/home  /\n"
        "/my-redirect  /  302\n"
        "/ecommerce  /store-closed  404\n"
        "/pass-through  /index.html  200\n",
    )
    assert rules.match_redirect("/home", "") == RedirectMatch(status=301, to="/", force=False)
    assert rules.match_redirect("/my-redirect", "").status == 302
    closed = rules.match_redirect("/ecommerce", "")
    assert (closed.status, closed.to, closed.is_redirect) == (404, "/store-closed", False)
    rewrite = rules.match_redirect("/pass-through", "")
    assert (rewrite.status, rewrite.path, rewrite.is_redirect) == (200, "/index.html", False)


def test_splat_carries_the_rest_of_the_path(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/news/*  /blog/:splat  301\n")
    assert rules.match_redirect("/news/2024/05/hello", "").to == "/blog/2024/05/hello"
    assert rules.match_redirect("/news", "").to == "/blog/"
    assert rules.match_redirect("/newsletter", "") is None


def test_placeholders_match_one_segment_each(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/news/:year/:month/:slug  /blog/:year-:month/:slug.html  302\n")
    assert rules.match_redirect("/news/2024/05/hello", "").to == "/blog/2024-05/hello.html"
    assert rules.match_redirect("/news/2024/05", "") is None
    assert rules.match_redirect("/news/2024/05/hello/extra", "") is None


def test_first_matching_rule_wins(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/docs/old  /docs/special  302\n/docs/*  /manual/:splat  301\n")
    assert rules.match_redirect("/docs/old", "").to == "/docs/special"
    assert rules.match_redirect("/docs/other", "").to == "/manual/other"


def test_trailing_slash_is_the_same_path(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/about  /team  301\n/shop/  /store  301\n")
    assert rules.match_redirect("/about/", "").to == "/team"
    assert rules.match_redirect("/shop", "").to == "/store"


def test_force_marks_rules_that_shadow_existing_files(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/app/*  /index.html  200\n/legacy  /new  301!\n")
    assert rules.match_redirect("/legacy", "").force is True
    assert rules.match_redirect("/app/x", "").force is False
    # A file exists at the path: only forced rules still apply.
    assert rules.match_redirect("/app/x", "", forced_only=True) is None
    assert rules.match_redirect("/legacy", "", forced_only=True).to == "/new"


def test_query_parameters_can_be_matched_and_bound(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/store id=:id  /products/:id  301\n/store  /shop  301\n")
    assert rules.match_redirect("/store", "id=42&ref=x").to == "/products/42"
    assert rules.match_redirect("/store", "ref=x").to == "/shop?ref=x"
    assert rules.match_redirect("/store", "").to == "/shop"


def test_spa_fallback_and_external_targets(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, "/api/*  https://api.example.com/v1/:splat  200\n/*  /index.html  200\n")
    proxied = rules.match_redirect("/api/users/7", "")
    assert proxied.is_external and proxied.to == "https://api.example.com/v1/users/7"
    assert rules.match_redirect("/", "").to == "/index.html"
    assert rules.match_redirect("/deep/link", "").to == "/index.html"


def test_unusable_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        "/ok  /fine\n"
        "/missing-target\n"
        "/weird  /x  999\n"
        "/geo  /en  302  Country=us\n"
        "https://old.example.com/*  https://example.com/:splat  301\n"
        "/mid/*/x  /y\n",
    )
    assert rules.match_redirect("/ok", "").to == "/fine"
    assert rules.match_redirect("/geo", "") is None
    lines = [problem.split(":")[0] for problem in rules.problems]
    assert lines == [f"_redirects line {n}" for n in (2, 3, 4, 5, 6)]


def test_headers_from_every_matching_block_add_up(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        headers="# security for all pages\n"
        "/*\n"
        "  X-Frame-Options: DENY\n"
        "  X-Content-Type-Options: nosniff\n"
        "/assets/*\n"
        "  Cache-Control: public, max-age=31536000, immutable\n"
        "/templates/index.html\n"
        "  X-Frame-Options: SAMEORIGIN\n",
    )
    assert rules.headers_for("/assets/app.css") == [
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "public, max-age=31536000, immutable"),
    ]
    # A later block's value for the same header replaces the earlier one.
    assert dict(rules.headers_for("/templates/index.html"))["X-Frame-Options"] == "SAMEORIGIN"
    assert dict(rules.headers_for("/")) == {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}


def test_header_repeated_in_a_block_is_joined(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, headers="/*\n  Cache-Control: max-age=0\n  cache-control: no-cache\n")
    assert rules.headers_for("/page") == [("Cache-Control", "max-age=0, no-cache")]


def test_header_patterns_with_placeholders_and_inner_splats(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, headers="/blog/:slug\n  X-Post: yes\n/*.css\n  X-Style: yes\n")
    assert rules.headers_for("/blog/hello/") == [("X-Post", "yes")]
    assert rules.headers_for("/blog/hello/more") == []
    assert rules.headers_for("/assets/site.css") == [("X-Style", "yes")]


def test_bad_header_lines_are_reported_not_sent(tmp_path: Path) -> None:
    rules = rules_from(
        tmp_path,
        headers="  X-Orphan: 1\n/*\n  no colon here\n  Basic-Auth: user:secret\n  X-Fine: 1\n",
    )
    assert rules.headers_for("/") == [("X-Fine", "1")]
    assert len(rules.problems) == 3
