"""What the build manager asks of a cluster (``gateway.cluster.member`` answers): one round of
a site, given the two ways this host can come by a build."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from gateway.building.build import Build, Failure

# A build from this host's inputs (found on disk by its id when they are unchanged).
BuildHere = Callable[[], Awaitable[Build | Failure]]
# The cluster's build of that id: from disk, or fetched by the function, which fills an empty
# folder with the build and returns its record.
Adopt = Callable[[str, Callable[[Path], str]], Awaitable[Build]]


class ClusterRound(Protocol):
    async def settle(
        self, site: str, *, serving: Build | None, rebuild: bool, build_here: BuildHere, adopt: Adopt
    ) -> Build | Failure: ...
