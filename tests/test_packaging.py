"""sitegate as a plain (non-editable) wheel: it carries its templates, the shared components and
the live-reload script, so `sitegate create`, a build and development mode work from it alone.

The wheel is built from a copy of the sources and installed into a fresh virtual environment,
run from a folder outside the checkout. Only the wheel's dependencies come from the project's
own environment (a path entry, not a re-download of aiohttp and the rest)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "gateway", "builders", "shared")
BUILD_LEFTOVERS = shutil.ignore_patterns("__pycache__", "node_modules", ".sitegate", "*.egg-info", "build", "dist")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv that has sitegate installed from its wheel."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=BUILD_LEFTOVERS)
        else:
            shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("sitegate-*.whl")

    venv = work / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    fresh_site_packages = Path(
        sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    )
    (fresh_site_packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel))
    return venv / "bin"


def get(url: str, wait_seconds: float) -> tuple[int, str]:
    """A GET that waits up to ``wait_seconds`` for the server to start listening."""
    ends = time.monotonic() + wait_seconds
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "example.com"}), timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            if time.monotonic() > ends:
                raise
            time.sleep(0.2)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_wheel_is_what_runs(installed: Path, tmp_path: Path) -> None:
    where = run(str(installed / "python"), "-c", "import gateway; print(gateway.__file__)", cwd=tmp_path)
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)


def test_create_finds_every_template_in_the_wheel(installed: Path, tmp_path: Path) -> None:
    for template in ("default", "blog", "vite", "astro", "next"):
        run(str(installed / "sitegate"), "create", f"{template}.test", "--template", template, "--sites", str(tmp_path), cwd=tmp_path)
        assert (tmp_path / f"{template}.test" / "site.toml").is_file()
        assert (tmp_path / f"{template}.test" / ".gitignore").is_file()


def test_the_wheel_carries_the_shared_react_library(installed: Path, tmp_path: Path) -> None:
    found = run(str(installed / "python"), "-c", "from gateway.config import PACKAGED_COMPONENTS as c; print(c)", cwd=tmp_path)
    components = Path(found.stdout.strip())
    assert not components.is_relative_to(ROOT)
    for name in ("package.json", "styles.css", "react/blog/PostCard.jsx", "react/ui/index.js", "react/layouts/Layout.jsx"):
        assert (components / name).is_file(), name


@pytest.fixture
def dev_gateway(installed: Path, tmp_path: Path) -> Iterator[str]:
    """A site made from the blog template, served by the installed `sitegate dev`."""
    sites = tmp_path / "sites"
    sites.mkdir()
    run(str(installed / "sitegate"), "create", "example.com", "--template", "blog", "--sites", str(sites), cwd=tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "sitegate"), "dev", "example.com", "--host", "127.0.0.1", "--port", str(port),
         "--sites", str(sites), "--build-dir", str(tmp_path / "builds")],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_a_site_from_the_wheel_builds_with_the_shared_components_and_live_reload(dev_gateway: str) -> None:
    status, page = get(f"{dev_gateway}/blog/", wait_seconds=30)
    assert status == 200, page
    assert 'class="sg-post-card' in page  # the shared library's blog/post_card.html
    assert "Hello, world" in page
    assert "/_sitegate/livereload.js" in page
    status, script = get(f"{dev_gateway}/_sitegate/livereload.js", wait_seconds=5)
    assert status == 200
    assert "EventSource" in script
