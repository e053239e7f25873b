"""Running a command for a build: output as it comes, a clean env, and no process left behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from builders.command.process import Command, OutputLog, group_members, run
from builders.errors import BuildError

PATH = os.defpath


def sh(script: str, cwd: Path, timeout: float = 30.0, **env: str) -> Command:
    return Command(("sh", "-c", script), cwd, {"PATH": PATH, **env}, timeout)


def group_of(output_lines: list[str]) -> int:
    return int(next(line for line in output_lines if line.startswith("group ")).split()[1])


def test_output_is_passed_on_while_the_command_still_runs(tmp_path: Path) -> None:
    # The command waits for a file that only the line handler creates: without streaming it
    # would wait until its timeout.
    seen: list[str] = []

    def on_line(line: str) -> None:
        seen.append(line)
        if line == "ready":
            (tmp_path / "go").touch()

    script = "echo ready; while [ ! -e go ]; do sleep 0.05; done; echo done >&2"
    status = run(sh(script, tmp_path), OutputLog(on_line))
    assert status == 0
    assert seen[-2:] == ["ready", "done"]


def test_the_exit_status_and_both_streams_reach_the_log(tmp_path: Path) -> None:
    output = OutputLog()
    status = run(sh("echo out; echo err >&2; exit 3", tmp_path), output)
    assert status == 3
    assert output.text() == "$ sh -c 'echo out; echo err >&2; exit 3'\nout\nerr\n"
    assert output.last_line() == "err"


def test_the_command_sees_exactly_the_environment_it_is_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_SECRET", "hunter2")
    output = OutputLog()
    run(sh("env", tmp_path, ONLY_THIS="1"), output)
    variables = {line.split("=", 1)[0] for line in output.text().splitlines()[1:]}
    assert variables <= {"PATH", "ONLY_THIS", "PWD", "SHLVL", "_"}
    assert "ONLY_THIS" in variables and "hunter2" not in output.text()


def test_a_hanging_command_is_killed_at_its_timeout_with_its_children(tmp_path: Path) -> None:
    lines: list[str] = []
    command = sh("echo group $$; sleep 1000 & sleep 1000", tmp_path, timeout=1.0)
    with pytest.raises(BuildError) as failure:
        run(command, OutputLog(lines.append))
    assert "ran longer than its timeout of 1 s" in str(failure.value)
    assert "every process it started were killed" in failure.value.log
    assert group_members(group_of(lines)) == []


def test_a_command_stops_when_the_gateway_stops(tmp_path: Path) -> None:
    stopping = threading.Event()
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        if line.startswith("group "):
            stopping.set()

    with pytest.raises(BuildError, match="gateway is shutting down"):
        run(sh("echo group $$; sleep 1000 & sleep 1000", tmp_path), OutputLog(on_line), stopping)
    assert group_members(group_of(lines)) == []


def test_children_left_running_after_a_normal_end_are_killed(tmp_path: Path) -> None:
    lines: list[str] = []
    status = run(sh("echo group $$; sleep 1000 & echo finished", tmp_path), OutputLog(lines.append))
    assert status == 0 and "finished" in lines
    assert group_members(group_of(lines)) == []


def test_a_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    command = Command(("no-such-tool-here", "build"), tmp_path, {"PATH": PATH}, 10.0)
    with pytest.raises(BuildError, match="no-such-tool-here was not found on the gateway's PATH"):
        run(command, OutputLog())


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        run(sh("true", tmp_path / "gone"), OutputLog())


def test_the_log_keeps_the_newest_lines_and_says_how_many_went() -> None:
    output = OutputLog(max_chars=30)
    output.feed(b"".join(b"line %d\n" % number for number in range(10)))
    text = output.text()
    assert text.endswith("line 9\n") and "line 0" not in text
    assert text.startswith("[… ") and "earlier lines not shown]" in text
    assert output.tail(2).splitlines()[1:] == ["line 8", "line 9"]


def test_progress_redraws_and_colours_are_left_out_of_the_log() -> None:
    output = OutputLog()
    output.feed(b"10%\r50%\r100%\n\x1b[32mgreen\x1b[39m\r\nhalf a ")
    output.feed(b"line")
    output.flush()
    assert output.text() == "100%\ngreen\nhalf a line\n"
