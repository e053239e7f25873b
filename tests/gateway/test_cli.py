"""The sitegate command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_sitegate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_is_one_line_on_stderr_and_exit_code_2(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path), env={"SITEGATE_PORT": "nope"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["sitegate: SITEGATE_PORT='nope': must be a whole number"]


def test_a_bad_flag_value_is_reported_the_same_way(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path), "--port", "99999")
    assert result.returncode == 2
    assert "SITEGATE_PORT='99999': must be between 0 and 65535" in result.stderr


def test_a_missing_sites_folder_is_reported(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such folder" in result.stderr
