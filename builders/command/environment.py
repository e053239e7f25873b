"""The environment a site's own commands (install, build, dev server) run in.

It is written out in full rather than inherited: the gateway's variables may hold secrets (the
backend token, database URLs), and a build that depends on whoever started the gateway would not
be the same build on another machine. Only PATH and HOME come from outside (``command_env``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from builders.base import EMPTY

# Frameworks phone home unless told not to; builds must not depend on (or leak to) the network.
TELEMETRY_OFF: Mapping[str, str] = MappingProxyType(
    {
        "NEXT_TELEMETRY_DISABLED": "1",
        "ASTRO_TELEMETRY_DISABLED": "1",
        "NUXT_TELEMETRY_DISABLED": "1",
        "GATSBY_TELEMETRY_DISABLED": "1",
        "DO_NOT_TRACK": "1",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
)
# Logs end up in files and HTML pages, where colour codes are noise.
PLAIN_OUTPUT: Mapping[str, str] = MappingProxyType({"NO_COLOR": "1"})


def command_environment(
    *,
    inherited: Mapping[str, str],
    site_name: str,
    api_url: str,
    site_env: Mapping[str, str],
    node_env: str | None,
    out_dir: Path | None = None,
    extra: Mapping[str, str] = EMPTY,
) -> dict[str, str]:
    """The variables of one command. The site's ``[env]`` may override anything but the
    ``SITEGATE_*`` names, which describe the build to the command and must be true."""
    env = {name: value for name, value in inherited.items() if name in ("PATH", "HOME")}
    env.setdefault("PATH", os.defpath)
    env.update(TELEMETRY_OFF)
    env.update(PLAIN_OUTPUT)
    if node_env is not None:
        env["NODE_ENV"] = node_env
    env["API_URL"] = api_url
    env.update(extra)
    env.update(site_env)
    env["SITEGATE_SITE"] = site_name
    if out_dir is not None:
        env["SITEGATE_OUT_DIR"] = str(out_dir)
    return env
