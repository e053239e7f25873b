"""``[theme]`` → ``/theme.css``."""

from __future__ import annotations

import pytest

from builders.errors import BuildError
from builders.jinja.theme import theme_css, validate_theme


def test_flat_and_nested_keys_become_custom_properties() -> None:
    theme = validate_theme({"primary": "#DC2626", "radius": 4, "font": {"body": "Inter", "mono_face": "Fira"}})
    assert theme_css(theme) == ":root {\n  --primary: #DC2626;\n  --radius: 4;\n  --font-body: Inter;\n  --font-mono-face: Fira;\n}\n"


def test_no_theme_gives_an_empty_rule() -> None:
    assert theme_css(validate_theme(None)) == ":root {\n\n}\n"


@pytest.mark.parametrize(
    "theme",
    [
        "blue",
        {"primary": "red; } body { display: none"},
        {"primary": "</style><script>"},
        {"primary": "a /* comment"},
        {"bad key": "#fff"},
        {"primary": True},
        {"primary": ["#fff"]},
    ],
)
def test_values_that_are_not_css_values_are_refused(theme: object) -> None:
    with pytest.raises(BuildError) as caught:
        validate_theme(theme)
    assert caught.value.file == "site.toml"
