"""A build's rules stamp: an empty file ``.sitegate-rules-<digest>`` in the build folder, named
by the digest of its ``_redirects`` and ``_headers``.

``sitegate nginx-config --direct`` translates the rules of the build current when it runs, and
has nginx look for that build's stamp before serving a file itself. A later build with other
rules has another stamp, so nginx hands the site to the gateway (which reads the rules anew)
until the config is generated again, instead of serving it under rules that are gone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.serving.rules import HEADERS_FILE, REDIRECTS_FILE

STAMP_PREFIX = ".sitegate-rules-"


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


def stamp_name(build: Path) -> str:
    return STAMP_PREFIX + rules_digest(build)


def write_stamp(build: Path) -> None:
    """Stamp ``build`` (blocking). Any other stamp goes first: a site's own output cannot carry
    one that claims other rules than its own."""
    name = stamp_name(build)
    try:
        for other in build.glob(STAMP_PREFIX + "*"):
            if other.name != name:
                other.unlink(missing_ok=True)
        (build / name).touch()
    except OSError:
        # Without its stamp the build is served by the gateway alone, which is always right.
        return
