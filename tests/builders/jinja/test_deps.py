"""When an output of the previous build may be reused."""

from __future__ import annotations

import os

from builders.base import PreviousBuild
from builders.jinja.deps import META_MARK, ReuseCheck, outputs_affected_by

POSTS = "/site/content/posts"
A, B, C = (f"{POSTS}/{name}.md" for name in "abc")
CONTENT = (POSTS + os.sep,)
LAYOUT, OVERRIDE = "/shared/layouts/post.html", "/site/components/layouts/post.html"


def check(before: dict[str, str], now: dict[str, str], deps: dict[str, set[str]], published: set[str]) -> ReuseCheck:
    previous = PreviousBuild("/out", {k: frozenset(v) for k, v in deps.items()}, before)  # type: ignore[arg-type]
    return ReuseCheck(previous, now, CONTENT, published)


def test_unchanged_inputs_mean_reuse_and_a_changed_one_does_not() -> None:
    digests = {A: "1", LAYOUT: "2"}
    reuse = check(digests, digests | {LAYOUT: "3"}, {"a.html": {A, LAYOUT}, "other.html": {A}}, {A})
    assert reuse.reusable_dependencies("a.html", frozenset({A})) is None
    assert check(digests, digests, {"a.html": {A, LAYOUT}}, {A}).reusable_dependencies("a.html", frozenset({A})) is not None


def test_an_output_the_previous_build_did_not_have_is_made() -> None:
    assert check({A: "1"}, {A: "1"}, {}, {A}).reusable_dependencies("new.html") is None


def test_a_created_override_invalidates_pages_that_probed_for_it() -> None:
    deps = {"a.html": {LAYOUT, OVERRIDE}}
    assert check({LAYOUT: "1"}, {LAYOUT: "1"}, deps, set()).reusable_dependencies("a.html") is not None
    assert check({LAYOUT: "1"}, {LAYOUT: "1", OVERRIDE: "9"}, deps, set()).reusable_dependencies("a.html") is None


def test_a_folder_dependency_is_the_set_of_files_in_it() -> None:
    deps = {"blog.html": {POSTS + os.sep, A}}
    same = {A: "1", B: "1"}
    assert check(same, same | {B: "2"}, deps, {A}).reusable_dependencies("blog.html", frozenset({A})) is not None
    assert check(same, same | {C: "1"}, deps, {A}).reusable_dependencies("blog.html", frozenset({A})) is None


def test_a_deleted_input_or_a_folder_losing_a_file_is_a_change() -> None:
    deps = {"a.html": {A, LAYOUT}, "blog.html": {POSTS + os.sep}, "other.html": {B}}
    before = {A: "1", B: "1", LAYOUT: "1"}
    reuse = check(before, {A: "1", LAYOUT: "1"}, deps, {A})
    assert reuse.reusable_dependencies("blog.html") is None
    assert reuse.reusable_dependencies("other.html", frozenset({B})) is None
    assert reuse.reusable_dependencies("a.html", frozenset({A})) is not None
    assert check(before, {B: "1", A: "1"}, deps, {A}).reusable_dependencies("a.html", frozenset({A})) is None


def test_content_handed_to_a_page_must_be_the_same_files() -> None:
    digests = {A: "1", B: "1", C: "1"}
    deps = {"page.html": {A, B}, "all.html": {A, B, C}}
    reuse = check(digests, digests, deps, {A, B, C})
    assert reuse.reusable_dependencies("page.html", frozenset({A, B})) is not None
    assert reuse.reusable_dependencies("page.html", frozenset({A, C})) is None  # a post joined or left
    assert reuse.reusable_dependencies("all.html", frozenset()) is not None  # it read every published post
    assert check(digests, digests, deps, {A, B}).reusable_dependencies("all.html", frozenset()) is None


def test_nothing_is_reused_without_digests_or_a_previous_build() -> None:
    assert ReuseCheck(None, {A: "1"}, CONTENT, {A}).reusable_dependencies("a.html") is None
    previous = PreviousBuild("/out", {"a.html": frozenset({A})}, {A: "1"})  # type: ignore[arg-type]
    assert ReuseCheck(previous, {}, CONTENT, {A}).reusable_dependencies("a.html", frozenset({A})) is None


def test_a_virtual_dependency_holds_while_this_build_has_the_same_one() -> None:
    token = "/site/site.toml#sitegate-data:team@abc"
    previous = PreviousBuild("/out", {"team.html": frozenset({token})}, {A: "1"})  # type: ignore[arg-type]
    assert ReuseCheck(previous, {A: "1"}, CONTENT, set(), virtual={token}).reusable_dependencies("team.html") is not None
    assert ReuseCheck(previous, {A: "1"}, CONTENT, set(), virtual={token.replace("abc", "def")}).reusable_dependencies("team.html") is None


def test_posts_from_backend_data_are_content_too() -> None:
    api = "/site/site.toml#sitegate-post:"
    p, q = f"{api}posts/p@1", f"{api}posts/q@1"
    previous = PreviousBuild("/out", {"blog.html": frozenset({A, p})}, {A: "1"})  # type: ignore[arg-type]
    reuse = ReuseCheck(previous, {A: "1"}, (POSTS + os.sep, api), {A, p, q}, virtual={p, q})
    assert reuse.reusable_dependencies("blog.html", frozenset({A, p})) is not None
    assert reuse.reusable_dependencies("blog.html", frozenset({A, q})) is None  # one API post left the page, another joined
    edited = ReuseCheck(previous, {A: "1"}, (POSTS + os.sep, api), {A, p.replace("@1", "@2")}, virtual={p.replace("@1", "@2")})
    assert edited.reusable_dependencies("blog.html", frozenset({A, p.replace("@1", "@2")})) is None


def test_outputs_affected_by_a_path() -> None:
    dependencies = {"a.html": {A, LAYOUT}, "blog.html": {POSTS + os.sep, A}, "b.html": {OVERRIDE}}
    assert outputs_affected_by(dependencies, A) == {"a.html", "blog.html"}
    assert outputs_affected_by(dependencies, f"{POSTS}/new.md") == {"blog.html"}
    assert outputs_affected_by(dependencies, OVERRIDE) == {"b.html"}
    assert outputs_affected_by(dependencies, "/elsewhere") == set()


def test_a_listing_of_posts_depends_on_what_it_shows_of_them_not_on_their_bodies() -> None:
    meta_a, meta_b = f"{A}{META_MARK}1", f"{B}{META_MARK}1"
    deps = {"listing.html": {meta_a, meta_b}, "full.html": {meta_a, A, meta_b, B}, "a.html": {A}}
    before = {A: "1", B: "1"}
    body_edited = ReuseCheck(
        PreviousBuild("/out", {k: frozenset(v) for k, v in deps.items()}, before),  # type: ignore[arg-type]
        {A: "2", B: "1"},
        CONTENT,
        {meta_a, meta_b},
        virtual={meta_a, meta_b},
    )
    assert body_edited.reusable_dependencies("listing.html", frozenset({meta_a, meta_b})) is not None
    assert body_edited.reusable_dependencies("full.html", frozenset({meta_a, meta_b})) is None  # it shows the bodies
    assert body_edited.reusable_dependencies("a.html", frozenset({A})) is None
    retitled = ReuseCheck(
        PreviousBuild("/out", {k: frozenset(v) for k, v in deps.items()}, before),  # type: ignore[arg-type]
        {A: "2", B: "1"},
        CONTENT,
        {f"{A}{META_MARK}2", meta_b},
        virtual={f"{A}{META_MARK}2", meta_b},
    )
    assert retitled.reusable_dependencies("listing.html", frozenset({f"{A}{META_MARK}2", meta_b})) is None
    unchanged = check(before, before, deps, {meta_a, meta_b})
    assert unchanged.reusable_dependencies("listing.html", frozenset({meta_a, f"{C}{META_MARK}1"})) is None  # a post left
