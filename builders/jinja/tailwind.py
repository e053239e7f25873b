"""A site's own Tailwind build: the ``tailwindcss`` npm package from the site's ``package.json``,
installed into the site's ``node_modules`` when missing or when the lock file changed
(``builders.command.npm``), run over the rendered pages and the templates with the site's
``tailwind.config.js``.

The result is served as ``/tailwind.css``, a stable name rather than a fingerprinted one: the
pages are its input, so its hash cannot be known while they render. In development a site's
Tailwind stays loaded between builds (``tailwind_server``); production runs the CLI, minified.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from builders.base import BuildContext
from builders.command import npm
from builders.command.environment import command_environment
from builders.command.process import Command, OutputLog, run
from builders.errors import BuildError
from builders.jinja.tailwind_server import TailwindContent, TailwindJob, TailwindServer
from builders.paths import Boundary

OUTPUT = "tailwind.css"
CONFIG_NAMES = ("tailwind.config.js", "tailwind.config.cjs", "tailwind.config.mjs")
INPUT_NAME = "tailwind.css"
DEFAULT_INPUT = "@tailwind base;\n@tailwind components;\n@tailwind utilities;\n"
_BINARY = Path("node_modules", ".bin", "tailwindcss")
# Tailwind's browser list nags about its age on every run; the build log is no place for it.
_QUIET = {"BROWSERSLIST_IGNORE_OLD_DATA": "1"}


def tailwind_config(site_dir: Path, within: Boundary) -> Path | None:
    for name in CONFIG_NAMES:
        if within.holds(str(site_dir / name)):
            return site_dir / name
    return None


def uses_tailwind(site_dir: Path, options: Mapping[str, Any], within: Boundary) -> bool:
    """On with a ``tailwind.config.js`` or ``tailwind = true``; ``tailwind = false`` turns it off."""
    setting = options.get("tailwind")
    if setting is not None:
        if not isinstance(setting, bool):
            raise BuildError("`tailwind` must be true or false", file="site.toml")
        return setting
    return tailwind_config(site_dir, within) is not None


def tailwind_inputs(site_dir: Path) -> list[Path]:
    """The files besides the pages that decide the CSS (absent ones included, as dependencies)."""
    names = (*CONFIG_NAMES, INPUT_NAME, npm.MANIFEST, *npm.LOCKFILES)
    return [site_dir / name for name in names]


def tailwind_content(
    ctx: BuildContext, pages: Collection[str], rendered: Collection[str], templates: Collection[str]
) -> TailwindContent:
    """What the warm Tailwind reads: each HTML output of the build (``pages``, those ``rendered``
    anew among them) where its text is now, and each template by its digest."""
    folders = (ctx.out_dir,) + ((ctx.previous.out_dir,) if ctx.previous is not None else ())
    return TailwindContent(
        pages={page: tuple(folder / page for folder in folders) for page in pages},
        rendered=frozenset(rendered),
        templates={path: ctx.input_digests.get(path) or _stamp(path) for path in templates},
    )


def _stamp(path: str) -> str:
    """A file's version without a digest (a builder used on its own): its time and size."""
    try:
        info = os.stat(path)
    except OSError:
        return "gone"
    return f"{info.st_mtime_ns}:{info.st_size}"


def build_tailwind(
    ctx: BuildContext,
    site_dir: Path,
    work_dir: Path,
    within: Boundary,
    template_folders: Sequence[Path] = (),
    warm: tuple[TailwindServer, TailwindContent] | None = None,
) -> str:
    """Write ``tailwind.css`` into the build from the HTML already in it and the HTML templates
    in ``template_folders``; returns the log. Its config and input are read through ``within``.
    With ``warm`` (development), the site's warm Tailwind compiles from that content, if it can."""
    install = npm.install_for(site_dir, None)
    if install is None:
        raise BuildError("a Tailwind site needs a package.json that pins tailwindcss", file="package.json")
    output = OutputLog()
    env = command_environment(
        inherited=ctx.command_env,
        site_name=ctx.site_name,
        api_url=ctx.backend_url,
        site_env=ctx.env,
        node_env=ctx.mode,
        extra=_QUIET,
    )
    npm.ensure_installed(install, env=env, timeout=ctx.timeout, output=output, stopping=ctx.stopping)
    if not (site_dir / _BINARY).exists():
        raise BuildError("tailwindcss is not among the site's npm packages", file="package.json", log=output.tail())
    source = site_dir / INPUT_NAME
    if not within.holds(str(source)):
        source = work_dir / "tailwind-input.css"
        source.write_text(DEFAULT_INPUT)
    config = tailwind_config(site_dir, within)
    if warm is not None:
        server, content = warm
        job = TailwindJob(source, config, ctx.out_dir / OUTPUT, not ctx.dev, content)
        done, note = server.compile(job, Command((), site_dir, env, ctx.timeout), npm.dependency_key(install), ctx.stopping)
        if note:
            output.note(note)
        if done:
            return output.text()
    argv = [str(site_dir / _BINARY), "--input", str(source), "--output", str(ctx.out_dir / OUTPUT)]
    content = [ctx.out_dir, *template_folders]
    # The CLI takes its content globs as one comma-separated list.
    if any("," in str(folder) for folder in content):
        raise BuildError(f"Tailwind cannot scan a folder whose path has a comma: {', '.join(map(str, content))}")
    argv += ["--content", ",".join(str(folder / "**" / "*.html") for folder in content)]
    if config is not None:
        argv += ["--config", str(config)]
    if not ctx.dev:
        argv.append("--minify")
    status = run(Command(tuple(argv), site_dir, env, ctx.timeout), output, ctx.stopping)
    if status != 0:
        raise BuildError(f"tailwindcss failed (exit {status}): {output.last_line()}", log=output.tail())
    return output.text()
