"""``[auth]`` in site.toml: whether anyone may sign up through the site's ``/api``.

The backend never reads site.toml; the gateway tells it with every forwarded request
(``gateway.forwarding.proxy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPEN = "open"
CLOSED = "closed"
# Closed unless the operator opens it: a site just added takes no sign-ups nobody chose.
DEFAULT_REGISTRATION = CLOSED
_KEYS = ("registration",)


def auth_problems(auth: Any) -> list[str]:
    """What is wrong with the ``[auth]`` table of site.toml, each naming its key."""
    if not isinstance(auth, Mapping):
        return ["auth must be a table"]
    # A misspelt key would silently leave sign-ups closed; better to say so.
    problems = [f"auth.{key} is not a known key (known: {', '.join(_KEYS)})" for key in auth if key not in _KEYS]
    registration = auth.get("registration", DEFAULT_REGISTRATION)
    if registration not in (OPEN, CLOSED):
        problems.append(f'auth.registration must be "{OPEN}" or "{CLOSED}", not {registration!r}')
    return problems


def registration(options: Mapping[str, Any]) -> str:
    """``open`` or ``closed``, from the options of a site the registry found valid."""
    auth = options.get("auth", {})
    return OPEN if isinstance(auth, Mapping) and auth.get("registration") == OPEN else CLOSED
