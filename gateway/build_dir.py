"""One site's builds on disk: publish atomically, find again after a restart, keep the last few.

```
<build dir>/<site>/<build id>/        one build's output, never changed after publishing
<build dir>/<site>/<build id>.json    the record of inputs used (and outputs → inputs)
<build dir>/<site>/<build id>.log     the build's log
<build dir>/<site>/current            link to the build in service, replaced by a rename
```
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

_STAGING_PREFIX = ".staging-"
_ABANDONED_AFTER_SECONDS = 3600
CURRENT = "current"


@dataclass(frozen=True)
class BuildRecord:
    build_id: str
    dependencies: Mapping[str, frozenset[str]]
    input_digests: Mapping[str, str]
    rendered: tuple[str, ...]
    seconds: float
    # Outputs an incremental build did not write, still to be carried over (hard-linked) from
    # the build ``carried_from``. Until then the folder is incomplete.
    carried_from: str | None = None
    carried: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.carried_from is None

    def to_json(self) -> str:
        return json.dumps(
            {
                "build_id": self.build_id,
                "dependencies": {out: sorted(ins) for out, ins in self.dependencies.items()},
                "input_digests": dict(self.input_digests),
                "rendered": list(self.rendered),
                "seconds": self.seconds,
                "carried_from": self.carried_from,
                "carried": list(self.carried),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> BuildRecord:
        data = json.loads(text)
        return cls(
            build_id=data["build_id"],
            dependencies={out: frozenset(ins) for out, ins in data["dependencies"].items()},
            input_digests=data["input_digests"],
            rendered=tuple(data["rendered"]),
            seconds=float(data["seconds"]),
            carried_from=data.get("carried_from"),
            carried=tuple(data.get("carried", ())),
        )


class SiteBuildDir:
    """The folder of one site's builds. Blocking: call from a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def output(self, build_id: str) -> Path:
        return self.root / build_id

    def find(self, build_id: str) -> BuildRecord | None:
        """The complete published build with this id, or None. A folder without its record is a
        leftover of an interrupted publish and does not count, nor does one still incomplete."""
        record = self._record(build_id)
        return record if record is not None and record.complete else None

    def incomplete(self) -> list[BuildRecord]:
        """Builds published with outputs still to carry over, oldest first."""
        found = []
        for path in sorted(self.root.glob("*.json"), key=lambda path: path.stat().st_mtime_ns):
            record = self._record(path.stem)
            if record is not None and not record.complete:
                found.append(record)
        return found

    def complete(self, record: BuildRecord) -> BuildRecord:
        """Hard-link the outputs ``record`` carried over (and their .gz/.br) into its folder."""
        assert record.carried_from is not None
        source, target = self.output(record.carried_from), self.output(record.build_id)
        made: set[Path] = set()
        for relative in record.carried:
            for name in (relative, relative + ".gz", relative + ".br"):
                origin, destination = source / name, target / name
                if destination.parent not in made:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    made.add(destination.parent)
                try:
                    os.link(origin, destination)
                except FileExistsError:
                    continue
                except FileNotFoundError:
                    if name == relative:
                        raise
        finished = replace(record, carried_from=None, carried=())
        _write_atomically(self.root / f"{record.build_id}.json", finished.to_json())
        return finished

    def drop(self, build_id: str) -> None:
        shutil.rmtree(self.output(build_id), ignore_errors=True)
        for suffix in (".json", ".log"):
            (self.root / f"{build_id}{suffix}").unlink(missing_ok=True)

    def _record(self, build_id: str) -> BuildRecord | None:
        record_path = self.root / f"{build_id}.json"
        if not self.output(build_id).is_dir() or not record_path.is_file():
            return None
        try:
            return BuildRecord.from_json(record_path.read_text())
        except (ValueError, KeyError, TypeError):
            return None

    def staging(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def publish(self, staging: Path, record: BuildRecord, log: str) -> Path:
        """Move a finished staging folder into place in one rename."""
        final = self.output(record.build_id)
        self.write_log(record.build_id, log)
        _write_atomically(self.root / f"{record.build_id}.json", record.to_json())
        if final.exists():
            # A folder without a valid record (checked by ``find``) is an interrupted publish.
            shutil.rmtree(final)
        os.rename(staging, final)
        return final

    def write_log(self, build_id: str, log: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.root / f"{build_id}.log", log)

    def read_log(self, build_id: str) -> str:
        try:
            return (self.root / f"{build_id}.log").read_text(errors="replace")
        except OSError:
            return ""

    def current_id(self) -> str | None:
        try:
            return os.readlink(self.root / CURRENT)
        except OSError:
            return None

    def point_current(self, build_id: str) -> None:
        link = self.root / CURRENT
        temporary = self.root / f".{CURRENT}-{os.getpid()}-{build_id}"
        if temporary.is_symlink():
            temporary.unlink()
        os.symlink(build_id, temporary)
        os.replace(temporary, link)

    def prune(self, keep: int, protect: set[str]) -> list[str]:
        """Remove all but the ``keep`` newest builds (never one in ``protect``), and any
        leftovers of interrupted builds. Returns the removed ids."""
        if not self.root.is_dir():
            return []
        records = sorted(
            self.root.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True
        )
        kept = {path.stem for path in records[:keep]} | protect
        removed: list[str] = []
        for entry in self.root.iterdir():
            name = entry.name
            if name == CURRENT or name.startswith(f".{CURRENT}"):
                continue
            build_id = name.split(".", 1)[0] if not name.startswith(".") else None
            if name.startswith(_STAGING_PREFIX):
                # A young one may belong to a build running right now; an old one was abandoned.
                if time.time() - entry.stat().st_mtime > _ABANDONED_AFTER_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            if build_id is None or build_id in kept:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(build_id)
            else:
                entry.unlink(missing_ok=True)
        return sorted(set(removed))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

