"""``sitegate deploy SITE...``: build each site here, upload the build to the cluster's build
store and move its pointer, so every gateway of the cluster serves it within its poll."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from builders import KNOWN_BUILDERS, builder_for
from builders.errors import BuildError
from gateway.building.build import Build, Failure
from gateway.building.fingerprint import sitegate_version
from gateway.building.site_data import fetch_site_data
from gateway.building.step import BuildStep
from gateway.cluster.coordination import ClusterUnreachable, holding_lease
from gateway.cluster.member import ClusterMember
from gateway.cluster.store import StoreError
from gateway.config import Settings
from gateway.forwarding.proxy import create_client_session
from gateway.ops.build_command import build_and_finish
from gateway.sites.registry import Registry, Site

EXIT_USAGE = 2

DEPLOY_HELP = """\
Build SITE... here and publish each build to the cluster: upload it to the build store
(SITEGATE_BUILD_STORE; a build already there is not uploaded again) and move the site's
pointer in SITEGATE_CLUSTER_DB. Every gateway of the cluster serves it within
SITEGATE_CLUSTER_POLL_SECONDS. While another host builds the site, deploy waits for it.
`sitegate rollback SITE` moves the pointer back, cluster-wide.
Exit status: 0 when every site is deployed, 1 when any is not (the reason on one line), 2
for wrong arguments or a gateway that is not part of a cluster.
"""


class DeployError(Exception):
    """A site could not be deployed: its build failed, or the store or database is out of reach."""


@dataclass(frozen=True)
class Deployed:
    site: str
    build_id: str
    generation: int
    reused: bool


def choose_sites(settings: Settings, names: list[str]) -> list[Site]:
    if settings.cluster is None:
        raise DeployError("deploy publishes to a cluster: set SITEGATE_BUILD_STORE and SITEGATE_CLUSTER_DB")
    if not names:
        raise DeployError("name the sites to deploy")
    registry = Registry.scan(settings.sites_dir, KNOWN_BUILDERS)
    unknown = [name for name in names if name not in registry.sites]
    if unknown:
        raise DeployError(f"no site named {', '.join(unknown)} in {settings.sites_dir}")
    return [registry.sites[name] for name in names]


async def deploy(settings: Settings, member: ClusterMember, step: BuildStep, site: Site) -> Deployed:
    """One site built, finished (precompressed: the hosts fetching it need not) and published."""
    build = await _build(settings, step, site)
    try:
        if not await member.take_lease(site.name, within=settings.build_timeout):
            raise DeployError(f"another host has been building it for over {settings.build_timeout:.0f} s")
    except ClusterUnreachable as error:
        raise DeployError(f"the cluster database is out of reach: {error}") from None
    async with holding_lease(member.db, site.name, member.holder, member.settings.lease_seconds):
        try:
            pointer = await member.publish(site.name, build)
        except StoreError as error:
            raise DeployError(f"the build store is out of reach: {error}") from None
        except ClusterUnreachable as error:
            raise DeployError(f"build {build.build_id} is in the store, but the pointer did not move: {error}") from None
    return Deployed(site.name, build.build_id, pointer.generation, build.reused)


async def _build(settings: Settings, step: BuildStep, site: Site) -> Build:
    try:
        data: Mapping[str, Any] = {}
        if site.options.get("data"):
            async with create_client_session(settings) as session:
                data = await fetch_site_data(site, session=session, settings=settings)
        outcome = await asyncio.to_thread(build_and_finish, step, site, data)
    except BuildError as error:
        outcome = Failure(None, error)
    if isinstance(outcome, Failure):
        raise DeployError(f"the build failed: {outcome.error}")
    return outcome


async def deploy_all(settings: Settings, sites: list[Site]) -> int:
    assert settings.cluster is not None
    member = ClusterMember.from_settings(settings.cluster)
    step = BuildStep(settings, builder_for, sitegate_version(), threading.Event())
    failed = 0
    try:
        for site in sites:
            try:
                done = await deploy(settings, member, step, site)
            except DeployError as error:
                print(f"sitegate deploy: {site.name}: {error}", file=sys.stderr)
                failed += 1
                continue
            made = "reused" if done.reused else "built"
            print(
                f"{done.site}: deployed build {done.build_id} ({made} here; generation {done.generation}): "
                f"every gateway takes it at its next look (every {settings.cluster.poll_seconds:g} s)"
            )
    finally:
        step.close()
        await member.close()
    return 1 if failed else 0


def run(settings: Settings, names: list[str]) -> int:
    try:
        sites = choose_sites(settings, names)
    except DeployError as error:
        print(f"sitegate deploy: {error}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(deploy_all(settings, sites))
