"""One site's builds on disk: publish atomically, find again after a restart, keep the last few.

```
<build dir>/<site>/<build id>/        one build's output, never changed after publishing
<build dir>/<site>/<build id>.json    the record of inputs used (and outputs → inputs)
<build dir>/<site>/<build id>.log     the build's log
<build dir>/<site>/current            link to the build in service (complete), replaced by a rename
<build dir>/<site>/.staging-*/        a build being made, locked by the process making it
```
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from gateway.building.record import BuildRecord
from gateway.building.rules_link import point_rules_link

_STAGING_PREFIX = ".staging-"
_TRASH_PREFIX = ".trash-"
# A temporary file or link lives for microseconds; one this old was left by a crash.
_LEFT_OVER_AFTER_SECONDS = 60
CURRENT = "current"
# Above the sites, touched when a ``current`` moves: other processes follow (``building.follow``).
PUBLISHED = ".published"
WORKSPACE = ".workspace"
_LOCK = ".lock"
_LOCK_POLL_SECONDS = 0.02


class SiteBuildDir:
    """The folder of one site's builds. Blocking: call from a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Where the site's own commands build as the build user, away from its sources.
        self.workspace = root / WORKSPACE
        # Staging folders of builds running here, each held by a lock on its open folder: the
        # lock ends with the process, however it ends, so a folder nobody holds is abandoned.
        self._held: dict[Path, int] = {}

    def output(self, build_id: str) -> Path:
        return self.root / build_id

    def find(self, build_id: str) -> BuildRecord | None:
        """The complete published build with this id, or None. A folder without its record is a
        leftover of an interrupted publish and does not count, nor does one still incomplete."""
        record_path = self.root / f"{build_id}.json"
        if self.is_incomplete(build_id) or not self.output(build_id).is_dir() or not record_path.is_file():
            return None
        try:
            return BuildRecord.from_json(record_path.read_text())
        except (ValueError, KeyError, TypeError):
            return None

    def is_incomplete(self, build_id: str) -> bool:
        return self._carry_file(build_id).is_file()

    def complete(self, build_id: str) -> None:
        """Hard-link the outputs a build carried over (and their .gz/.br) into its own folder."""
        carry_file = self._carry_file(build_id)
        try:
            origins: dict[str, str] = json.loads(carry_file.read_text())
        except FileNotFoundError:
            return
        target = self.output(build_id)
        made: set[Path] = set()
        for relative, origin in origins.items():
            for name in (relative, relative + ".gz", relative + ".br"):
                destination = target / name
                if destination.parent not in made:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    made.add(destination.parent)
                try:
                    os.link(self.output(origin) / name, destination)
                except FileExistsError:
                    continue
                except FileNotFoundError:
                    if name == relative:
                        raise
        carry_file.unlink(missing_ok=True)

    def drop(self, build_id: str) -> None:
        shutil.rmtree(self.output(build_id), ignore_errors=True)
        for suffix in (".json", ".log", ".carry"):
            (self.root / f"{build_id}{suffix}").unlink(missing_ok=True)

    def _carry_file(self, build_id: str) -> Path:
        return self.root / f"{build_id}.carry"

    @contextmanager
    def locked(self, stopping: threading.Event) -> Iterator[None]:
        """Held while a process builds the site: the others (``--workers``) wait for its build."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if stopping.wait(_LOCK_POLL_SECONDS):
                        raise InterruptedError("the gateway is stopping") from None
            yield
        finally:
            os.close(lock)

    def building(self) -> bool:
        """Whether a process builds into one of this site's staging folders now."""
        return any(_held(staging) for staging in self.root.glob(_STAGING_PREFIX + "*"))

    def staging(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
        # mkdtemp makes it private; once published, nginx's workers (another user) read it too.
        staging.chmod(0o755)
        folder = os.open(staging, os.O_RDONLY)
        fcntl.flock(folder, fcntl.LOCK_EX)
        self._held[staging] = folder
        return staging

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
        self._release(staging)

    def _release(self, staging: Path) -> None:
        folder = self._held.pop(staging, None)
        if folder is not None:
            os.close(folder)

    def publish(
        self,
        staging: Path,
        record: BuildRecord,
        log: str,
        carried: Mapping[str, str] | None = None,
        *,
        with_record: bool = True,
    ) -> Path:
        """Move a finished staging folder into place in one rename. ``carried`` maps outputs the
        build did not write to the build folder that holds them; until ``complete`` links them
        in, the build is incomplete (its file table points at those folders). ``with_record``
        False leaves the record for ``write_record`` later: until then ``find`` does not see it.

        A folder of that id already there is kept: the id is the fingerprint of the inputs, so
        it holds this very output (once complete), and a table in service may point into it."""
        final = self.output(record.build_id)
        try:
            self.write_log(record.build_id, log)
            if final.exists():
                self.discard(staging)
            else:
                if carried:
                    _write_atomically(self._carry_file(record.build_id), json.dumps(carried, separators=(",", ":")))
                os.rename(staging, final)
        except OSError:
            self.discard(staging)
            raise
        finally:
            self._release(staging)
        if with_record:
            self.write_record(record)
        return final

    def write_record(self, record: BuildRecord) -> None:
        _write_atomically(self.root / f"{record.build_id}.json", record.to_json())

    def has_record(self, build_id: str) -> bool:
        return (self.root / f"{build_id}.json").is_file()

    def write_log(self, build_id: str, log: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.root / f"{build_id}.log", log)

    def current_id(self) -> str | None:
        try:
            return os.readlink(self.root / CURRENT)
        except OSError:
            return None

    def point_current(self, build_id: str) -> None:
        """Swap ``current`` (and nginx's link, ``rules_link``) to a complete build."""
        link = self.root / CURRENT
        temporary = self.root / f".{CURRENT}-{os.getpid()}-{build_id}"
        if temporary.is_symlink():
            temporary.unlink()
        os.symlink(build_id, temporary)
        os.replace(temporary, link)
        point_rules_link(self.root, build_id)
        _announce(self.root.parent / PUBLISHED, f"{self.root.name} {build_id}\n")

    def prune(self, keep: int, protect: set[str]) -> list[str]:
        """Take out all but the ``keep`` newest builds (never one in ``protect``), and leftovers
        of interrupted builds. Folders are only renamed into the trash here, which is quick;
        ``empty_trash`` deletes them. Returns the ids taken out."""
        if not self.root.is_dir():
            return []
        records = sorted(self.root.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
        kept = {path.stem for path in records[:keep]} | protect
        # A failure newer than every build leaves only its log, which says why the site failed.
        newest = records[0].stat().st_mtime_ns if records else 0
        removed: list[str] = []
        for entry in self.root.iterdir():
            name = entry.name
            if name.startswith(_STAGING_PREFIX):
                if _held(entry) is False:
                    self.trash(entry)
                continue
            if name.startswith(f".{CURRENT}-") and not _running(name.split("-")[1]):
                entry.unlink(missing_ok=True)
                continue
            if name.startswith(".") and name.endswith(".tmp"):
                if time.time() - entry.lstat().st_mtime > _LEFT_OVER_AFTER_SECONDS:
                    entry.unlink(missing_ok=True)
                continue
            if name == CURRENT or name.startswith("."):
                continue
            build_id = name.split(".", 1)[0]
            if build_id in kept or (name.endswith(".log") and entry.stat().st_mtime_ns >= newest):
                continue
            if entry.is_dir() and not entry.is_symlink():
                self.trash(entry)
                removed.append(build_id)
            else:
                entry.unlink(missing_ok=True)
        return sorted(set(removed))

    def empty_trash(self) -> None:
        if not self.root.is_dir():
            return
        trash = [str(entry) for entry in self.root.glob(f"{_TRASH_PREFIX}*")]
        if not trash:
            return
        # A low-priority rm of its own: deleting a thousand folders should not take the GIL
        # or a core from the next build.
        try:
            subprocess.run(["nice", "-n", "19", "rm", "-rf", "--", *trash], check=False, timeout=600)
        except (OSError, subprocess.TimeoutExpired):
            for path in trash:
                shutil.rmtree(path, ignore_errors=True)

    def trash(self, entry: Path) -> None:
        try:
            entry.rename(self.root / f"{_TRASH_PREFIX}{entry.name}-{uuid.uuid4().hex[:8]}")
        except OSError:
            shutil.rmtree(entry, ignore_errors=True)


def _held(staging: Path) -> bool | None:
    """Whether a running build holds the staging folder's lock; None once the folder is gone."""
    try:
        folder = os.open(staging, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(folder)
    return False


def _running(pid: str) -> bool:
    """Whether the process that made a ``current`` link's temporary still runs (so may use it)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):
        pass  # not a process id we can judge, or one of another user's: leave it
    return True


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _announce(path: Path, text: str) -> None:
    # Written by any of several processes at once: each through a temporary of its own.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except OSError:
        # The other processes then see the build at their next own look; this one serves it now.
        temporary.unlink(missing_ok=True)
