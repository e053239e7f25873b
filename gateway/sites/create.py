"""``sitegate create``: a new site folder from one of the starting points in ``shared/templates/``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from builders.base import IGNORED_DIRS
from gateway.sites.hosts import InvalidHost, normalize_name

# Things a template folder may hold from being run in place, which a new site must not inherit.
_NOT_COPIED = shutil.ignore_patterns(*IGNORED_DIRS, "dist")
_TITLE = re.compile(r'^title = ".*"$', re.MULTILINE)


class CreateError(ValueError):
    """The site cannot be created; the message says why."""


def available_templates(templates_dir: Path) -> list[str]:
    if not templates_dir.is_dir():
        return []
    return sorted(path.name for path in templates_dir.iterdir() if (path / "site.toml").is_file())


def create_site(sites_dir: Path, templates_dir: Path, domain: str, template: str) -> Path:
    """Copy ``template`` to ``sites_dir/<domain>`` and return the new folder. Blocking."""
    try:
        name = normalize_name(domain)
    except InvalidHost as error:
        raise CreateError(f"{domain!r} is not a domain name: {error.reason}") from None
    if name.startswith("[") or "." not in name:
        raise CreateError(f"{domain!r} is not a domain name: a site is named by its domain, like example.com")
    choices = available_templates(templates_dir)
    if template not in choices:
        raise CreateError(f"no template {template!r}; choose one of: {', '.join(choices) or 'none found in ' + str(templates_dir)}")
    target = sites_dir / name
    if target.exists():
        raise CreateError(f"{target} already exists")
    sites_dir.mkdir(parents=True, exist_ok=True)
    staging = sites_dir / f".{name}.creating"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(templates_dir / template, staging, ignore=_NOT_COPIED)
    site_toml = staging / "site.toml"
    site_toml.write_text(_TITLE.sub(f'title = "{name}"', site_toml.read_text(), count=1))
    # One rename: the gateway, polling the sites folder, never sees half a site.
    staging.rename(target)
    return target
