"""A rollback's pin: ``sitegate rollback`` points ``current`` at an earlier build, and the pin
keeps the gateway serving it (after restarts too) while the site's inputs still fingerprint to
the build it was rolled back from. Once they fingerprint to anything else (an edit, new
[data], a changed site.toml), the pin goes and the site is built as usual.

```
<build dir>/<site>/.rollback    {"build_id": rolled back to, "from_id": inputs' build then}
```
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from gateway.building.build_dir import SiteBuildDir
from gateway.building.record import BuildRecord

# A dot name without .json: pruning leaves it alone and takes it for no build record.
PIN = ".rollback"


@dataclass(frozen=True)
class Pin:
    build_id: str
    from_id: str


def read_pin(build_dir: SiteBuildDir) -> Pin | None:
    try:
        data = json.loads((build_dir.root / PIN).read_text())
        return Pin(str(data["build_id"]), str(data["from_id"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable: as if there were none, so the site builds as usual.
        return None


def write_pin(build_dir: SiteBuildDir, pin: Pin) -> None:
    temporary = build_dir.root / f"{PIN}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"build_id": pin.build_id, "from_id": pin.from_id}))
    os.replace(temporary, build_dir.root / PIN)


def drop_pin(build_dir: SiteBuildDir) -> None:
    (build_dir.root / PIN).unlink(missing_ok=True)


def held_back_to(build_dir: SiteBuildDir, build_id: str) -> BuildRecord | None:
    """The build to serve instead of ``build_id`` (what the inputs fingerprint to now), if a
    rollback pins the site and its inputs have not changed since; else None, and a pin whose
    inputs changed (or whose build is gone) is dropped. Blocking: call from a worker."""
    pin = read_pin(build_dir)
    if pin is None:
        return None
    record = build_dir.find(pin.build_id) if pin.from_id == build_id else None
    if record is None:
        drop_pin(build_dir)
    return record
