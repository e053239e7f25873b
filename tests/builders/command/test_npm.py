"""Dependencies are installed when the lockfile changed, and only then (real npm, offline: the
only dependency is a local folder)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from builders.command.npm import STAMP_NAME, Install, ensure_installed, install_for
from builders.command.process import OutputLog
from builders.errors import BuildError
from gateway.config import Settings

ENV = dict(Settings().command_env)


def write_package(site: Path, helper_version: str) -> None:
    helper = site / "helper"
    helper.mkdir(parents=True, exist_ok=True)
    (helper / "package.json").write_text(json.dumps({"name": "helper", "version": helper_version}))
    (helper / "index.js").write_text("module.exports = 42\n")
    manifest = {"name": "site", "version": "1.0.0", "private": True, "dependencies": {"helper": "file:helper"}}
    (site / "package.json").write_text(json.dumps(manifest))


def install(site: Path, option: object = None) -> tuple[bool, str]:
    step = install_for(site, option)
    assert step is not None
    output = OutputLog()
    installed = ensure_installed(step, env=ENV, timeout=120, output=output)
    return installed, output.text()


def test_the_lockfile_decides_whether_npm_runs_again(tmp_path: Path) -> None:
    write_package(tmp_path, "1.0.0")
    installed, log = install(tmp_path)
    assert installed and "$ npm install --include=dev --no-audit --no-fund" in log
    assert (tmp_path / "node_modules" / "helper" / "index.js").is_file()
    assert (tmp_path / "package-lock.json").is_file()

    installed, log = install(tmp_path)
    assert not installed and "install skipped" in log

    write_package(tmp_path, "2.0.0")
    relock = ["npm", "install", "--package-lock-only", "--no-audit", "--no-fund"]
    subprocess.run(relock, cwd=tmp_path, env=ENV, check=True, capture_output=True)
    installed, log = install(tmp_path)
    assert installed and "$ npm ci --include=dev --no-audit --no-fund" in log


def test_a_deleted_node_modules_is_installed_again(tmp_path: Path) -> None:
    write_package(tmp_path, "1.0.0")
    install(tmp_path)
    shutil.rmtree(tmp_path / "node_modules")
    installed, _ = install(tmp_path)
    assert installed and (tmp_path / "node_modules" / STAMP_NAME).is_file()


def test_a_site_command_replaces_npm_and_is_part_of_the_key(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text("{}")
    count = "sh -c 'echo run >> installs.txt'"
    assert install(tmp_path, count)[0]
    assert not install(tmp_path, count)[0]
    assert install(tmp_path, count + " ")[0]
    (tmp_path / "package-lock.json").write_text('{"changed": true}')
    assert install(tmp_path, count)[0]
    assert (tmp_path / "installs.txt").read_text() == "run\n" * 3


def test_a_failed_install_is_a_build_error_and_is_tried_again(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(BuildError, match="installing dependencies failed: .* exited with status 4: nope"):
        install(tmp_path, "sh -c 'echo nope; exit 4'")
    assert not (tmp_path / "node_modules" / STAMP_NAME).exists()


def test_nothing_to_install_without_package_json_or_with_install_false(tmp_path: Path) -> None:
    assert install_for(tmp_path, None) is None
    (tmp_path / "package.json").write_text("{}")
    assert install_for(tmp_path, False) is None
    assert install_for(tmp_path, None) == Install(
        tmp_path, ("npm", "install", "--include=dev", "--no-audit", "--no-fund")
    )


def test_a_bad_install_option_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="install must be a command or false"):
        install_for(tmp_path, 3)
    with pytest.raises(BuildError, match="install: cannot read the command"):
        install_for(tmp_path, "npm ci 'unclosed")
