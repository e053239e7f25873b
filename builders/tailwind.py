"""A site's own Tailwind build: the ``tailwindcss`` npm package from the site's ``package.json``,
installed into the site's ``node_modules`` once (again when ``package.json`` or the lock file
changes), run over the rendered pages with the site's ``tailwind.config.js``.

The result is served as ``/tailwind.css``, a stable name rather than a fingerprinted one: the
pages are its input, so its hash cannot be known while they render.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builders.base import BuildError

OUTPUT = "tailwind.css"
CONFIG_NAMES = ("tailwind.config.js", "tailwind.config.cjs", "tailwind.config.mjs")
INPUT_NAME = "tailwind.css"
DEFAULT_INPUT = "@tailwind base;\n@tailwind components;\n@tailwind utilities;\n"
_BINARY = Path("node_modules", ".bin", "tailwindcss")
# Written into node_modules after an install: what package.json and the lock file were then.
_STAMP = Path("node_modules", ".sitegate-installed")


def tailwind_config(site_dir: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (site_dir / name).is_file():
            return site_dir / name
    return None


def uses_tailwind(site_dir: Path, options: Mapping[str, Any]) -> bool:
    """On with a ``tailwind.config.js`` or ``tailwind = true``; ``tailwind = false`` turns it off."""
    setting = options.get("tailwind")
    if setting is not None:
        if not isinstance(setting, bool):
            raise BuildError("`tailwind` must be true or false", file="site.toml")
        return setting
    return tailwind_config(site_dir) is not None


def tailwind_inputs(site_dir: Path) -> list[Path]:
    """The files besides the pages that decide the CSS (absent ones included, as dependencies)."""
    return [site_dir / name for name in (*CONFIG_NAMES, INPUT_NAME, "package.json", "package-lock.json")]


def build_tailwind(site_dir: Path, out_dir: Path, work_dir: Path, *, minify: bool, timeout: float) -> str:
    """Write ``out_dir/tailwind.css`` from the HTML in ``out_dir``; returns the tool's log."""
    log = ensure_installed(site_dir, timeout)
    source = site_dir / INPUT_NAME
    if not source.is_file():
        source = work_dir / "tailwind-input.css"
        source.write_text(DEFAULT_INPUT)
    command = [
        str(site_dir / _BINARY),
        "--input", str(source),
        "--output", str(out_dir / OUTPUT),
        "--content", str(out_dir / "**" / "*.html"),
    ]
    config = tailwind_config(site_dir)
    if config is not None:
        command += ["--config", str(config)]
    if minify:
        command.append("--minify")
    return log + _run(command, site_dir, timeout, "tailwindcss")


def ensure_installed(site_dir: Path, timeout: float) -> str:
    """``npm ci`` (or ``npm install`` without a lock file) unless ``node_modules`` already holds
    what ``package.json`` and the lock file ask for. One install per site at a time."""
    if not (site_dir / "package.json").is_file():
        raise BuildError("a Tailwind site needs a package.json that pins tailwindcss", file="package.json")
    if _installed(site_dir):
        return ""
    try:
        lock_dir = site_dir / ".sitegate"
        lock_dir.mkdir(exist_ok=True)
        lock = open(lock_dir / "npm.lock", "w")
    except OSError as error:
        raise BuildError(
            f"cannot install tailwindcss into the site's node_modules ({error.strerror}): "
            "a Tailwind site's folder must be writable"
        ) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(site_dir):  # another build installed it while this one waited
            return ""
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("npm is not installed, and this site's Tailwind build needs it")
        locked = (site_dir / "package-lock.json").is_file()
        command = [npm, "ci" if locked else "install", "--no-audit", "--no-fund", "--loglevel=error"]
        log = _run(command, site_dir, timeout, "npm")
        if not (site_dir / _BINARY).exists():
            raise BuildError("npm installed the packages, but tailwindcss is not among them", file="package.json")
        (site_dir / _STAMP).write_text(_install_digest(site_dir))
        return log


def _installed(site_dir: Path) -> bool:
    stamp = site_dir / _STAMP
    return (site_dir / _BINARY).exists() and stamp.is_file() and stamp.read_text() == _install_digest(site_dir)


def _install_digest(site_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = site_dir / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()


def _run(command: list[str], cwd: Path, timeout: float, what: str) -> str:
    shown = " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command))
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as error:
        output = _decode(error.stdout) + _decode(error.stderr)
        raise BuildError(f"{what} did not finish within {timeout:g} s", log=f"$ {shown}\n{output}") from None
    except OSError as error:
        raise BuildError(f"cannot run {what}: {error.strerror}") from None
    log = f"$ {shown}\n{done.stdout}{done.stderr}"
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise BuildError(f"{what} failed (exit {done.returncode}): {last[0]}", log=log)
    return log


def _decode(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode("utf-8", "replace")
