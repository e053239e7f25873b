"""The peers (MkDocs, Pelican) and the floor script: installed into a virtualenv of their own
under ``benchmarks/.work`` (never sitegate's dependencies) and timed as whole commands, the way
a person runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

FLOOR_SCRIPT = Path(__file__).with_name("floor.py")
_VERSIONS_SCRIPT = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({n: m.version(n) for n in ('mkdocs', 'pelican', 'markdown', 'markdown-it-py', "
    "'jinja2', 'pygments', 'pyyaml', 'starlette', 'uvicorn', 'h11')}))"
)


def peer_requirements() -> tuple[str, ...]:
    """Pinned, so every run compares against the same peers; the floor's Markdown and template
    libraries are the very versions sitegate runs with."""
    return (
        "mkdocs==1.6.1",
        "pelican[markdown]==4.12.0",
        "pygments==2.19.2",
        "pyyaml==6.0.4",
        f"markdown-it-py=={version('markdown-it-py')}",
        f"jinja2=={version('jinja2')}",
        # The static-serving peer: Starlette's StaticFiles under uvicorn (plain: h11, asyncio).
        "starlette==1.10.0",
        "uvicorn==0.55.0",
    )


@dataclass(frozen=True)
class Peers:
    venv: Path
    versions: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def tool(self, name: str) -> Path:
        return self.venv / "bin" / name


def ensure_peers(work: Path) -> Peers:
    """The peers' virtualenv, made or brought up to the pinned requirements."""
    work = work.resolve()
    venv = work / "peers-venv"
    stamp = venv / "requirements.installed"
    wanted = "\n".join(peer_requirements())
    if not stamp.is_file() or stamp.read_text() != wanted:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run_checked([*pip, *peer_requirements()], cwd=work)
        stamp.write_text(wanted)
    output = _run_checked([str(venv / "bin" / "python"), "-c", _VERSIONS_SCRIPT], cwd=work)
    return Peers(venv=venv, versions=json.loads(output))


def mkdocs_build(peers: Peers, project: Path) -> float:
    shutil.rmtree(project / "site", ignore_errors=True)
    return timed_run([str(peers.tool("mkdocs")), "build", "--quiet"], cwd=project)


def pelican_build(peers: Peers, project: Path) -> float:
    shutil.rmtree(project / "output", ignore_errors=True)
    command = [str(peers.tool("pelican")), "content", "-o", "output", "-s", "pelicanconf.py", "--quiet"]
    return timed_run(command, cwd=project)


def floor_build(peers: Peers, posts_dir: Path, out_dir: Path, highlight: bool) -> float:
    shutil.rmtree(out_dir, ignore_errors=True)
    command = [str(peers.python), str(FLOOR_SCRIPT), str(posts_dir), str(out_dir)]
    return timed_run([*command, "--highlight"] if highlight else command, cwd=out_dir.parent)


def timed_run(command: list[str], cwd: Path) -> float:
    """Wall-clock seconds of a command, start of the interpreter included (as a person waits)."""
    started = time.perf_counter()
    _run_checked(command, cwd=cwd)
    return time.perf_counter() - started


def _run_checked(command: list[str], cwd: Path) -> str:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return completed.stdout
