"""The ``command`` builder: a site built by its own toolchain (``npm run build``, or a preset's
Vite, Astro or Next build), its dependencies installed first when they changed.

```toml
builder = "command"
build = "npm run build"      # run without a shell; write `sh -c "…"` for one
output = "dist"              # the folder the command writes, relative to the site
install = "npm ci"           # optional; npm's own by default, false for none
timeout = 600                # seconds per command
```
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from builders.base import EMPTY, IGNORED_DIRS, BuildContext, BuildResult
from builders.command import npm
from builders.command.build_data import write_data
from builders.command.build_user import Workspace, copy_output
from builders.command.environment import command_environment
from builders.command.process import Command, OutputLog, run
from builders.command.shared_library import PACKAGE_NAME, imports_library, link_library, package_files
from builders.errors import BuildError
from builders.paths import Boundary

log = logging.getLogger("sitegate.builds.output")

SITE_FILE = "site.toml"
DEFAULT_OUTPUT = "dist"
# Top-level dotfiles are inputs too: `.env*` feeds Vite, `.npmrc` the install.
_IGNORED_DOTFILES = frozenset({".DS_Store"})


@dataclass(frozen=True)
class BuildPlan:
    """How one site is built.

    ``output`` is the folder (relative to the site) the command writes and sitegate copies out;
    ``None`` means the command writes straight into ``SITEGATE_OUT_DIR``. ``ignored`` names
    site folders that are outputs or caches, never inputs. ``requires`` names programs the
    command needs on PATH; ``hint`` is added to the error when the output is missing.
    """

    argv: tuple[str, ...]
    output: str | None
    env: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    requires: tuple[str, ...] = ()
    ignored: frozenset[str] = frozenset()
    hint: str = ""


class CommandBuilder:
    name: ClassVar[str] = "command"

    def plan(self, ctx: BuildContext) -> BuildPlan:
        argv = command_option(ctx.options, "build")
        if argv is None:
            raise BuildError('a command site names its build command, e.g. build = "npm run build"', file=SITE_FILE)
        output = output_option(ctx.options, DEFAULT_OUTPUT)
        return BuildPlan(argv=argv, output=output, ignored=frozenset({output}))

    def input_files(self, ctx: BuildContext) -> list[Path]:
        sources = source_files(ctx.site_dir, self.plan(ctx).ignored)
        # Only a site that imports the shared React library rebuilds when it changes.
        if imports_library(sources):
            return sources + package_files(ctx.shared_dir)
        return sources

    def build(self, ctx: BuildContext) -> BuildResult:
        if ctx.build_user is None or ctx.work_dir is None:
            return self._build(ctx)
        workspace = Workspace(ctx.work_dir, ctx.build_user)
        workspace.prepare(ctx.site_dir, ctx.shared_dir, self.input_files(ctx))
        result = self._build(workspace.context(ctx))
        copy_output(workspace.out_dir, ctx.out_dir, result.files)
        return result

    def _build(self, ctx: BuildContext) -> BuildResult:
        plan = self.plan(ctx)
        timeout = ctx.time_limit()
        output = OutputLog(on_line=lambda line: log.info("%s | %s", ctx.site_name, line))

        def environment(node_env: str | None) -> dict[str, str]:
            return command_environment(
                inherited=ctx.command_env,
                site_name=ctx.site_name,
                api_url=ctx.backend_url,
                site_env=ctx.env,
                node_env=node_env,
                out_dir=ctx.out_dir,
                extra=plan.env,
            )

        build_env = environment("production")
        for program in plan.requires:
            if shutil.which(program, path=build_env["PATH"]) is None:
                raise BuildError(f"{program} was not found on the gateway's PATH; install it to build {ctx.site_name}")
        install = npm.install_for(ctx.site_dir, ctx.options.get("install"))
        if install is not None:
            npm.ensure_installed(
                install, env=environment(None), timeout=timeout, output=output, stopping=ctx.stopping, user=ctx.build_user
            )
        # After the install, which empties node_modules: the shared library, as a workspace link.
        if (ctx.site_dir / npm.MANIFEST).is_file() and not link_library(ctx.site_dir, ctx.shared_dir):
            output.note(f"[sitegate] node_modules/{PACKAGE_NAME} is the site's own package: the shared one is not linked")
        build_env["SITEGATE_DATA"] = str(write_data(ctx))
        command = Command(resolve_program(plan.argv, ctx.site_dir), ctx.site_dir, build_env, timeout, ctx.build_user)
        status = run(command, output, ctx.stopping)
        if status != 0:
            raise BuildError(
                f"`{shlex.join(plan.argv)}` exited with status {status}: {output.last_line()}", log=output.tail()
            )
        files = self._collect(ctx, plan, output)
        return BuildResult(files=files, rendered=files, log=output.text())

    def _collect(self, ctx: BuildContext, plan: BuildPlan, output: OutputLog) -> tuple[str, ...]:
        """The command's output, in ``ctx.out_dir``; copied there when the command wrote it
        inside the site."""
        hint = f" ({plan.hint})" if plan.hint else ""
        if plan.output is None:
            source, shown = ctx.out_dir, "its output folder (SITEGATE_OUT_DIR)"
            if not any(source.iterdir()):
                raise BuildError(f"the build command succeeded but wrote nothing to {shown}{hint}", log=output.tail())
        else:
            source, shown = ctx.site_dir / plan.output, f"{plan.output}/"
            if not source.is_dir():
                raise BuildError(f"the build command succeeded but wrote no {shown} folder{hint}", log=output.tail())
            Boundary.of(ctx.site_dir).resolve(str(source))  # the folder itself may be a link
        if not (source / "index.html").is_file():
            raise BuildError(
                f"the build wrote {shown} without an index.html: a site needs a home page{hint}", log=output.tail()
            )
        # The command runs code sitegate does not control: a link it left must stay in its output.
        within = Boundary.output(source, ctx.site_dir if plan.output is not None else source, shown)
        files = _list_tree(source, within) if plan.output is None else _copy_tree(source, ctx.out_dir, within)
        output.note(f"[sitegate] the build has {len(files)} files, from {shown}")
        return files


def command_option(options: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """A command from ``site.toml``: a string (split like a shell would, but run without one)
    or an array of arguments."""
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        try:
            return tuple(shlex.split(value))
        except ValueError as error:
            raise BuildError(f"{key}: cannot read the command {value!r}: {error}", file=SITE_FILE) from None
    if isinstance(value, tuple) and value and all(isinstance(item, str) for item in value):
        return value
    raise BuildError(f"{key} must be a command, as a string or an array of strings, not {value!r}", file=SITE_FILE)


def output_option(options: Mapping[str, Any], default: str) -> str:
    value = options.get("output", default)
    path = PurePosixPath(value) if isinstance(value, str) else None
    if path is None or path.is_absolute() or not path.parts or ".." in path.parts or str(path) == ".":
        raise BuildError(f"output must be a folder inside the site, like {default!r}, not {value!r}", file=SITE_FILE)
    return path.as_posix()



def resolve_program(argv: tuple[str, ...], site_dir: Path) -> tuple[str, ...]:
    """A program named by a relative path (``node_modules/.bin/vite``) is the site's own."""
    program = argv[0]
    if "/" in program and not os.path.isabs(program):
        return (str(site_dir / program), *argv[1:])
    return argv


def source_files(site_dir: Path, ignored: frozenset[str]) -> list[Path]:
    """The site's sources: every file but dependencies, caches, outputs and editor leftovers;
    a link counts as the file it leads to, which must be in the site."""
    within = Boundary.of(site_dir)
    skipped = {site_dir / relative for relative in ignored}
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(site_dir):
        here = Path(dirpath)
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in IGNORED_DIRS and not name.startswith(".") and here / name not in skipped
        )
        # os.walk lists a link to a folder among the folders and does not follow it.
        for name in dirnames:
            if os.path.islink(here / name):
                within.resolve(str(here / name))
        for name in sorted(filenames):
            if name in _IGNORED_DOTFILES or name.endswith(("~", ".swp")):
                continue
            if name.startswith(".") and here != site_dir:
                continue
            path = here / name
            if path not in skipped and _is_file(path, within):
                files.append(path)
    return files


def _is_file(path: Path, within: Boundary) -> bool:
    """A regular file, or a link to one inside ``within`` (one stat: this runs for every source)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISLNK(mode):
        return within.linked_file(str(path))
    return stat.S_ISREG(mode)


def _copy_tree(source: Path, target: Path, within: Boundary) -> tuple[str, ...]:
    """Copy the output folder ``source`` into the build: a link as the file it leads to."""
    files: list[str] = []
    for relative, path in _walk_output(source, within):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        files.append(relative)
    return tuple(files)


def _list_tree(root: Path, within: Boundary) -> tuple[str, ...]:
    return tuple(relative for relative, _ in _walk_output(root, within))


def _walk_output(root: Path, within: Boundary) -> Iterator[tuple[str, Path]]:
    """(path relative to ``root``, file) for every file a command wrote, dotfiles included;
    ``BuildError`` for a link leading outside ``within`` or to nothing."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        for name in sorted(filenames) + [name for name in dirnames if os.path.islink(here / name)]:
            path = here / name
            if _is_file(path, within):
                yield path.relative_to(root).as_posix(), path
