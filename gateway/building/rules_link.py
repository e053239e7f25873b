"""The link nginx serves a site through: ``<site>/.rules-<digest>`` → the build in service, the
digest being of that build's ``_redirects`` and ``_headers``.

``sitegate nginx-config --direct`` translates the rules of the build current when it runs, and
roots the site's server block at the link named by their digest. A later build with other rules
is linked under another name and the old link goes: nginx then finds nothing there and hands
each request to the gateway (which reads the rules anew) until the config is written again,
instead of serving under rules that are gone. Following it costs nginx no more than following
``current`` would.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from gateway.serving.rules import HEADERS_FILE, REDIRECTS_FILE

LINK_PREFIX = ".rules-"


def rules_digest(build: Path) -> str:
    digest = hashlib.sha256()
    for name in (REDIRECTS_FILE, HEADERS_FILE):
        try:
            content = (build / name).read_bytes()
        except FileNotFoundError:
            content = b""
        except OSError:
            # Unreadable rules are rules nginx cannot know: a digest no config was made for.
            content = b"\0unreadable"
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()[:16]


def link_name(build: Path) -> str:
    return LINK_PREFIX + rules_digest(build)


def point_rules_link(site_root: Path, build_id: str) -> None:
    """Link ``build_id`` under its rules' name, in one rename; links of other rules go (blocking)."""
    name = link_name(site_root / build_id)
    # Not matched by LINK_PREFIX + "*"; pruning takes one a crash left (".*.tmp").
    temporary = site_root / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        temporary.unlink(missing_ok=True)
        os.symlink(build_id, temporary)
        os.replace(temporary, site_root / name)
        for other in site_root.glob(LINK_PREFIX + "*"):
            if other.name != name:
                other.unlink(missing_ok=True)
    except OSError:
        # Without its link the site is served by the gateway alone, which is always right.
        temporary.unlink(missing_ok=True)
