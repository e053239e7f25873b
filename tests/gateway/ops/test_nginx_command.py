"""``sitegate nginx-config`` as an operator runs it."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.gateway.sitefarm import write_site
from tests.gateway.test_cli import run_sitegate


def test_it_writes_a_file_whole_and_private_when_it_holds_the_backend_token(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "hi"})
    output = tmp_path / "conf.d" / "sitegate.conf"
    result = run_sitegate(
        "nginx-config", "--sites", str(tmp_path / "sites"), "--backend", "http://backend:8000", "--output", str(output),
        env={"SITEGATE_BACKEND_TOKEN": "s3cret"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "server_name shop.test;" in output.read_text()
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert [path.name for path in output.parent.iterdir()] == ["sitegate.conf"]


def test_a_gateway_nginx_cannot_reach_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for url in ("https://gateway:3000", "gateway:3000", "http://gateway:99999", "http://gateway:3000/sub"):
        result = run_sitegate("nginx-config", "--sites", str(tmp_path), "--gateway", url)
        assert result.returncode == 2, url
        assert len(result.stderr.strip().splitlines()) == 1 and "--gateway" in result.stderr, result.stderr


def test_wrong_arguments_are_one_line_and_exit_2() -> None:
    for args in (("nginx-config", "--nope"), ("sites", "extra"), ("rollback",), ("frobnicate",)):
        result = run_sitegate(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "--help" in result.stderr


def test_help_explains_direct_mode() -> None:
    result = run_sitegate("nginx-config", "--help")
    assert result.returncode == 0 and "--direct" in result.stdout and "miss" in result.stdout


def test_several_gateways_are_named_with_upstream_and_bad_ones_are_one_line_and_exit_2(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "hi"})
    sites = ("--sites", str(tmp_path / "sites"))
    result = run_sitegate("nginx-config", *sites, "--upstream", "10.0.0.1:3000", "--upstream", "[::1]:3001")
    assert result.returncode == 0, result.stderr
    assert "server 10.0.0.1:3000 max_fails=" in result.stdout and "server [::1]:3001 max_fails=" in result.stdout
    for wrong, said in (
        (("--upstream", "10.0.0.1:3000", "--gateway", "http://10.0.0.2:3000"), "not allowed with argument"),
        (("--upstream", "gateway"), "--upstream 'gateway'"),
        (("--upstream", "gateway:70000"), "1 to 65535"),
        (("--upstream", "a:1", "--upstream", "a:01"), "named twice"),
    ):
        result = run_sitegate("nginx-config", *sites, *wrong)
        assert result.returncode == 2, wrong
        assert len(result.stderr.strip().splitlines()) == 1 and said in result.stderr, result.stderr
