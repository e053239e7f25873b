"""``sitegate build`` as an operator runs it: through the console script, into the build folder
that ``sitegate sites`` and a running gateway read."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from tests.gateway.processes import gateway
from tests.gateway.sitefarm import write_site
from tests.gateway.test_cli import run_sitegate

PAGE = "<!doctype html><title>a</title><h1>{}</h1>"
# Builds run as the test's own user: pytest's temporary folders are out of a build user's reach.
ENV = {"SITEGATE_BUILD_USER": "root"}
STATES = {"built", "reused", "failed"}


def sitegate(tmp_path: Path, command: str, *args: str, gateway_url: str = "http://127.0.0.1:9") -> tuple[int, str, str]:
    folders = ("--sites", str(tmp_path / "sites"), "--build-dir", str(tmp_path / "builds"))
    extra = ("--gateway-url", gateway_url) if command == "build" else ()
    result = run_sitegate(command, *args, *folders, *extra, env=ENV)
    return result.returncode, result.stdout, result.stderr


def summary(stdout: str) -> dict[str, list[str]]:
    """Each site's row of the summary table (SITE STATE BUILD PAGES SECONDS), by site."""
    lines = stdout[stdout.index("SITE ") :].splitlines()
    rows = [line.split() for line in lines[1:]]
    return {row[0]: row[1:] for row in rows if len(row) == 5 and row[1] in STATES}


def states(stdout: str) -> dict[str, str]:
    return {site: row[0] for site, row in summary(stdout).items()}


def test_build_all_publishes_and_an_unchanged_site_is_reused(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("a"), "public/about.html": PAGE.format("b")})
    write_site(tmp_path / "sites", "b.test", {"public/index.html": PAGE.format("b")})

    code, stdout, stderr = sitegate(tmp_path, "build", "--all")
    assert code == 0, stdout + stderr
    assert states(stdout) == {"a.test": "built", "b.test": "built"}
    assert summary(stdout)["a.test"][2] == "2"  # pages
    assert "no gateway answered at http://127.0.0.1:9" in stdout
    code, listed, _ = sitegate(tmp_path, "sites", "--json")
    assert code == 0 and {entry["name"]: entry["state"] for entry in json.loads(listed)} == {"a.test": "ready", "b.test": "ready"}
    folders = sorted(path.name for path in (tmp_path / "builds").glob("*/*"))

    code, stdout, stderr = sitegate(tmp_path, "build", "--all", "--jobs", "1")
    assert code == 0, stdout + stderr
    assert states(stdout) == {"a.test": "reused", "b.test": "reused"}
    assert sorted(path.name for path in (tmp_path / "builds").glob("*/*")) == folders


def test_a_failing_site_is_named_with_its_log_and_the_others_are_built(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("a")})
    write_site(tmp_path / "sites", "c.test", {"public/index.html": PAGE.format("c")})
    script = "echo first line; echo second line; exit 3"
    write_site(tmp_path / "sites", "bad.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')

    code, stdout, stderr = sitegate(tmp_path, "build", "--all")
    assert code == 1, stdout + stderr
    assert states(stdout) == {"a.test": "built", "bad.test": "failed", "c.test": "built"}
    report = stdout[stdout.index("bad.test failed: ") :].splitlines()
    assert "exited with status 3" in report[0]
    assert "  first line" in report and "  second line" in report
    assert all((tmp_path / "builds" / name / "current").is_symlink() for name in ("a.test", "c.test"))


def test_wrong_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("a")})
    for args, message in (
        ((), "sitegate build: name the sites to build, or give --all"),
        (("a.test", "--all"), "sitegate build: name sites or give --all, not both"),
        (("a.test", "nope.test"), f"sitegate build: no site named nope.test in {tmp_path / 'sites'}"),
    ):
        code, stdout, stderr = sitegate(tmp_path, "build", *args)
        assert (code, stderr.strip().splitlines(), stdout) == (2, [message], "")
    assert not (tmp_path / "builds" / "a.test").exists()


def test_a_running_gateway_takes_the_new_build(tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("one")})
    with gateway(tmp_path / "sites", tmp_path / "builds") as (_, url):

        def page() -> str:
            request = urllib.request.Request(url + "/", headers={"Host": "a.test"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read().decode()

        assert "one" in page()
        (root / "public" / "index.html").write_text(PAGE.format("two"))
        code, stdout, stderr = sitegate(tmp_path, "build", "a.test", gateway_url=url)
        assert code == 0, stdout + stderr
        assert states(stdout) == {"a.test": "built"}
        assert "no gateway answered" not in stdout
        # The hook answers at once and the gateway looks again behind it, finding this build.
        deadline = time.monotonic() + 10
        while "two" not in page() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "two" in page()
