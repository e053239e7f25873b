"""``sitegate rollback SITE [BUILD_ID]``: point a site's ``current`` back at a kept earlier
build, pin it there until the site's inputs change (``gateway.building.pin``), and ask a
running gateway to serve it at once."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from builders import KNOWN_BUILDERS
from gateway.building.build_dir import SiteBuildDir
from gateway.building.pin import Pin, drop_pin, read_pin, write_pin
from gateway.config import Settings
from gateway.sites.registry import Registry

EXIT_USAGE = 2
# The gateway answers once it looked at the site again; that look may build it when its inputs
# changed since the build rolled back from, so it gets a build's time.
_HOOK_SECONDS = 120

ROLLBACK_HELP = """\
Switch SITE back to a kept earlier build: BUILD_ID, or by default the newest complete build
older than the current one (`sitegate sites` shows the current build; the build folder keeps
SITEGATE_KEEP_BUILDS of them). The switch is one rename of the `current` link.

The site stays on that build, across gateway restarts too, until its inputs change: an edit,
new [data] or a changed site.toml builds it anew as usual. A running gateway at
SITEGATE_GATEWAY_URL (or --gateway-url) is told at once (POST /_sitegate/hooks/rollback/SITE,
with SITEGATE_BACKEND_TOKEN when set) and serves the build before this command returns.

In a cluster (SITEGATE_BUILD_STORE and SITEGATE_CLUSTER_DB set), the site's pointer moves
instead: BUILD_ID, or by default the newest build it served before, from the build store.
Every gateway of the cluster serves it within SITEGATE_CLUSTER_POLL_SECONDS, and it holds
until the site's inputs change, as on one host.
"""


class RollbackError(Exception):
    """Wrong arguments: an unknown site or build, or nothing to roll back to."""


@dataclass(frozen=True)
class Rollback:
    site: str
    from_id: str | None
    to_id: str


def roll_back(settings: Settings, site_name: str, build_id: str | None) -> Rollback:
    """Points ``current`` at the chosen build and pins it. Blocking."""
    if site_name not in Registry.scan(settings.sites_dir, KNOWN_BUILDERS).sites:
        raise RollbackError(f"no site named {site_name} in {settings.sites_dir}")
    build_dir = SiteBuildDir(settings.build_dir / site_name)
    current = build_dir.current_id()
    kept = _complete_builds(build_dir)
    if build_id is None:
        older = kept[kept.index(current) + 1 :] if current in kept else []
        if not older:
            raise RollbackError(f"{site_name}: no kept build older than {current or 'none'} to roll back to")
        build_id = older[0]
    elif build_id not in kept:
        raise RollbackError(f"{site_name}: no complete build {build_id} (kept: {', '.join(kept) or 'none'})")
    pin = read_pin(build_dir)
    # What the inputs fingerprint to: the build in service at the first of several rollbacks.
    from_id = pin.from_id if pin is not None else current
    if from_id is None or from_id == build_id:
        drop_pin(build_dir)  # back to what the inputs make: nothing to hold
    else:
        # The pin first, so a gateway that sees the new link also sees why.
        write_pin(build_dir, Pin(build_id, from_id))
    build_dir.point_current(build_id)
    return Rollback(site_name, current, build_id)


def _complete_builds(build_dir: SiteBuildDir) -> list[str]:
    """Complete builds, newest first (by when their record was written, as pruning orders them)."""
    if not build_dir.root.is_dir():
        return []
    records = sorted(build_dir.root.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    return [path.stem for path in records if build_dir.find(path.stem) is not None]


def tell_gateway(settings: Settings, site_name: str) -> tuple[str | None, str]:
    """Asks the gateway to serve the rolled-back build now: the id it serves (None when no
    gateway answered) and what happened, in words."""
    url = f"{settings.gateway_url}/_sitegate/hooks/rollback/{urllib.parse.quote(site_name)}"
    headers = {"X-Sitegate-Token": settings.backend_token} if settings.backend_token else {}
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_HOOK_SECONDS) as response:
            return str(json.load(response)["build_id"]), f"the gateway at {settings.gateway_url} serves it now"
    except urllib.error.HTTPError as error:
        return None, f"the gateway at {settings.gateway_url} refused: {error.code} {_message(error)}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, f"no gateway answered at {settings.gateway_url} ({reason}): one that starts serves it"


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(error)["error"]["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return error.reason


def run(settings: Settings, site_name: str, build_id: str | None) -> int:
    try:
        done = roll_back(settings, site_name, build_id)
    except RollbackError as error:
        print(f"sitegate rollback: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{done.site}: current is {done.to_id} (was {done.from_id})")
    serving, said = tell_gateway(settings, site_name)
    if serving is not None and serving != done.to_id:
        # The site's inputs changed since the build rolled back from: it was built anew.
        print(f"{done.site}: {said}, but with build {serving}: its inputs changed", file=sys.stderr)
        return 1
    print(f"{done.site}: {said}")
    return 0
