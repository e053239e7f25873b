"""What of a build's rules nginx can carry, and how it says it."""

from __future__ import annotations

import re

import pytest

from gateway.ops.nginx_rules import Inexpressible, header_maps, quoted
from gateway.serving.rules import SiteRules, parse_headers, parse_redirects

DEFAULTS = {"cache-control": "$sitegate_cache_control"}


def rules(headers: str = "", redirects: str = "") -> SiteRules:
    problems: list[str] = []
    return SiteRules(tuple(parse_redirects(redirects, problems)), tuple(parse_headers(headers, problems)))


def test_a_later_block_wins_so_the_map_tries_it_first() -> None:
    maps = header_maps(rules("/*\n  X-Frame-Options: DENY\n/embed/*\n  X-Frame-Options: SAMEORIGIN\n"), "$s", DEFAULTS)
    assert [(m.header, m.default) for m in maps] == [("X-Frame-Options", '""')]
    (first_pattern, first_value), (second_pattern, second_value) = maps[0].entries
    assert (first_value, second_value) == ('"SAMEORIGIN"', '"DENY"')
    # The patterns are the gateway's own, as nginx strings.
    assert re.match(first_pattern[2:-1].replace("\\\\", "\\"), "/embed/video")


def test_a_rule_on_cache_control_falls_back_to_the_gateways_policy() -> None:
    maps = header_maps(rules("/assets/*\n  Cache-Control: public, max-age=60\n"), "$s", DEFAULTS)
    assert maps[0].default == "$sitegate_cache_control"


def test_unforced_redirects_are_the_gateways_on_a_miss_and_need_nothing() -> None:
    assert header_maps(rules(redirects="/old /new 301\n/a/* /b/:splat\n"), "$s", DEFAULTS) == ()


@pytest.mark.parametrize(
    ("headers", "redirects", "reason"),
    [
        ("", "/ /elsewhere 302!\n", "forced"),
        ("/*\n  Content-Type: text/plain\n", "", "Content-Type"),
        ("/*\n  X-Price: $5\n", "", "$"),
        ("/*\n  X-Odd'Name: 1\n", "", "X-Odd'Name"),
    ],
)
def test_what_nginx_cannot_say_the_same_way_is_refused_with_the_reason(headers: str, redirects: str, reason: str) -> None:
    with pytest.raises(Inexpressible, match=re.escape(reason)):
        header_maps(rules(headers, redirects), "$s", DEFAULTS)


def test_quoting_keeps_quotes_and_backslashes_inside_the_string() -> None:
    assert quoted('say "hi" \\o/') == '"say \\"hi\\" \\\\o/"'
    assert quoted("^/a$", variables=False) == '"^/a$"'
    with pytest.raises(Inexpressible):
        quoted("line\nbreak")
