"""``sitegate deploy``'s refusals: outside a cluster, no sites, an unknown site. One line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ClusterSettings
from gateway.ops import deploy
from tests.gateway.sitefarm import settings_for, write_site

CLUSTER = ClusterSettings(store_url="s3://builds", db_url="mongodb://127.0.0.1:1/sitegate")


@pytest.mark.parametrize(
    ("cluster", "names", "message"),
    [
        (None, ["a.test"], "deploy publishes to a cluster: set SITEGATE_BUILD_STORE and SITEGATE_CLUSTER_DB"),
        (CLUSTER, [], "name the sites to deploy"),
        (CLUSTER, ["a.test", "nobody.test"], "no site named nobody.test in"),
    ],
)
def test_a_deploy_that_cannot_start_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: ClusterSettings | None, names: list[str], message: str
) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "hi"})
    assert deploy.run(settings_for(tmp_path, cluster=cluster), names) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
