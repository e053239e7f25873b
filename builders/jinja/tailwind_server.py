"""Tailwind kept warm for one site in development (``tailwind_server.js``).

The one-shot CLI starts Node, loads Tailwind and builds its class table afresh on every edit:
most of half a second, while the edit itself costs a few tens of milliseconds. In development a
site's builder keeps one Node process instead, with the site's own ``tailwindcss`` loaded and
its context (the config resolved, every class seen so far) alive. Each build hands it only what
changed: the pages rendered anew, the templates edited, pages and templates gone. An edit that
brings no new rule (Tailwind's own extractor and rule generation decide) gets the last CSS
again without a compile; a stylesheet edit keeps the context (an edited ``@layer`` rule is
swapped into it), and what each ``@apply`` became is remembered. As in Tailwind's own watch
mode, a class that leaves every page stays in the development CSS until Tailwind starts afresh
(a config edit, a rule added to or taken from the stylesheet's ``@layer`` rules). Otherwise the
script's output is the CLI's, byte for byte (``tests/builders/jinja/test_tailwind_server.py``).

Whatever goes wrong with the process (it cannot start, dies, answers nonsense or fails a
compile), the build runs the one-shot CLI instead, which also gives a real error its usual
output; a process that died is started again first, once per build. A site whose Tailwind the
script cannot drive (another major version) keeps the CLI until its packages change.
"""

from __future__ import annotations

import shutil
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builders.command.process import Command
from builders.command.resident import Resident, ResidentGone

SCRIPT = Path(__file__).with_name("tailwind_server.js")
PACKAGE = Path("node_modules", "tailwindcss")
# Loading Tailwind: far less than a compile's time limit, but a loaded machine is slow.
_START_SECONDS = 60.0


@dataclass(frozen=True)
class TailwindContent:
    """What a build's CSS is made from. ``pages`` maps every HTML output of the build to where
    its text is now: in the build's folder when it was rendered anew (``rendered``) or linked,
    else in the previous build's; ``templates`` maps each template to its digest."""

    pages: Mapping[str, tuple[Path, ...]]
    rendered: frozenset[str]
    templates: Mapping[str, str]


@dataclass(frozen=True)
class TailwindJob:
    input: Path | None
    config: Path | None
    output: Path
    minify: bool
    content: TailwindContent


class TailwindServer:
    """One site's warm Tailwind. Thread-safe; a site's builds use it one at a time anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resident: Resident | None = None
        self._pages: set[str] = set()
        self._templates: dict[str, str] = {}
        # The packages (their install key) the script could not drive: the CLI serves them.
        self._unsupported: str | None = None

    @property
    def pid(self) -> int | None:
        resident = self._resident
        return resident.pid if resident is not None and resident.alive else None

    def compile(
        self, job: TailwindJob, command: Command, packages: str, stopping: threading.Event
    ) -> tuple[bool, str]:
        """Compile with the site's warm Tailwind (``command`` is the environment, folder, user and
        time limit the CLI would have had; ``packages`` the site's install key). Whether it wrote
        the CSS, and a line for the log; when it did not, the caller runs the CLI."""
        with self._lock:
            notes = ""
            # A process that died (killed, out of memory) is started again, once per build.
            for _attempt in range(2):
                if self._unsupported == packages:
                    return False, notes
                try:
                    done, note = self._compile(job, command, packages, stopping)
                    return done, notes + note
                except ResidentGone as gone:
                    self.close()
                    notes += f"[sitegate] Tailwind's development process: {gone.message}\n"
                    if not gone.ended or stopping.is_set():
                        break
            return False, notes + "[sitegate] the Tailwind CLI runs instead"

    def close(self) -> None:
        if self._resident is not None:
            self._resident.close()
        self._resident = None
        self._pages = set()
        self._templates = {}

    def _compile(self, job: TailwindJob, command: Command, packages: str, stopping: threading.Event) -> tuple[bool, str]:
        if self._resident is None or not self._resident.alive:
            self.close()
            if not self._start(command, packages, stopping):
                return False, "[sitegate] Tailwind's development process cannot drive this Tailwind; the CLI runs"
        assert self._resident is not None
        question = self._question(job)
        if question is None:
            # A page's text is nowhere to be read (a new process, the previous build's folder not
            # complete yet): only a full scan can make this CSS.
            return False, "[sitegate] Tailwind's development process lacks a page's text; the CLI runs"
        answer = self._resident.ask(question, command.timeout)
        if not answer.get("ok"):
            # Its next compile starts from a new context, with what it was given so far. The CLI
            # says it again, in its own words, if it is the site's error.
            error = str(answer.get("error", "")).strip().splitlines()
            return False, f"[sitegate] Tailwind's development process: {error[0] if error else 'failed'}; the CLI runs"
        content = job.content
        self._pages = set(content.pages)
        self._templates = dict(content.templates)
        how = "compiled" if answer.get("compiled") else "no new rules, the last CSS kept"
        fresh = ", new context" if answer.get("fresh") else ", @layer rules swapped in" if answer.get("patched") else ""
        milliseconds = float(answer.get("ms", 0))
        said = self._resident.take_stderr()
        line = f"[sitegate] Tailwind (development process {self._resident.pid}{fresh}): {how} in {milliseconds:.0f} ms"
        return True, f"{said}\n{line}" if said else line

    def _start(self, command: Command, packages: str, stopping: threading.Event) -> bool:
        node = shutil.which("node", path=command.env.get("PATH"))
        package = command.cwd / PACKAGE
        if node is None or not (package / "package.json").is_file():
            self._unsupported = packages
            return False
        argv = (node, str(SCRIPT), str(package))
        resident = Resident(Command(argv, command.cwd, command.env, command.timeout, command.user), stopping)
        weakref.finalize(self, resident.close)
        try:
            ready = resident.read(min(command.timeout, _START_SECONDS))
        except ResidentGone:
            resident.close()
            # Not this Tailwind, or no Node that runs the script: the CLI it is, until the
            # packages change.
            self._unsupported = packages
            return False
        if not ready.get("ready"):
            resident.close()
            self._unsupported = packages
            return False
        self._resident = resident
        return True

    def _question(self, job: TailwindJob) -> dict[str, object] | None:
        content = job.content
        files: list[tuple[str, str]] = []
        for relative, places in content.pages.items():
            if relative in self._pages and relative not in content.rendered:
                continue
            found = next((place for place in places if place.is_file()), None)
            if found is None:
                return None
            files.append(("page:" + relative, str(found)))
        files += [(path, path) for path, digest in content.templates.items() if self._templates.get(path) != digest]
        removed = ["page:" + relative for relative in self._pages - content.pages.keys()]
        removed += [path for path in self._templates.keys() - content.templates.keys()]
        return {
            "input": str(job.input) if job.input else None,
            "config": str(job.config) if job.config else None,
            "output": str(job.output),
            "minify": job.minify,
            "files": files,
            "removed": removed,
        }
