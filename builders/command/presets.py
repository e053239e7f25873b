"""Presets for the frameworks sitegate knows: ``builder = "vite"``, ``"astro"`` or ``"next"``
gives a site its build command, output handling and dev server with no further settings.

A site's own ``build`` (with ``output``, default ``dist``) or ``dev`` command still wins.
Each tool is run from the site's ``node_modules/.bin``, so the version in its lockfile builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, ClassVar

from builders.base import BuildContext
from builders.command.builder import (
    SITE_FILE,
    BuildPlan,
    CommandBuilder,
    command_option,
)
from builders.errors import BuildError

NODE = ("node",)
# Astro builds inside the project: given an output folder outside it, Astro 5 leaves internal
# modules of its content layer (content-assets.mjs, content-modules.mjs) among the pages.
ASTRO_OUT_DIR = ".sitegate/astro-out"
# Next.js writes its static export inside the project (into its distDir); sitegate copies it out.
NEXT_EXPORT_DIR = ".sitegate/next-export"
NEXT_CONFIG_HINT = (
    "next.config.mjs must set output: 'export' and distDir: process.env.SITEGATE_NEXT_DIST_DIR "
    "(and basePath: process.env.SITEGATE_BASE_PATH)"
)

DEV_COMMANDS: Mapping[str, str] = MappingProxyType(
    {
        "vite": "node_modules/.bin/vite --port {port} --host 127.0.0.1 --strictPort",
        "astro": "node_modules/.bin/astro dev --port {port} --host 127.0.0.1",
        "next": "node_modules/.bin/next dev --port {port} --hostname 127.0.0.1",
    }
)


def base_path(options: Mapping[str, Any]) -> str:
    """The URL path the site is served under, ``/`` unless ``base`` says otherwise; always
    with a leading and a trailing slash, as Vite and Astro expect it."""
    value = options.get("base", "/")
    if not isinstance(value, str) or not value.startswith("/") or any(c.isspace() for c in value):
        raise BuildError(f"base must be a URL path starting with '/', not {value!r}", file=SITE_FILE)
    return value.rstrip("/") + "/"


def _tool(name: str) -> str:
    return f"node_modules/.bin/{name}"


def vite_plan(ctx: BuildContext) -> BuildPlan:
    return BuildPlan(
        # --emptyOutDir: Vite leaves an outDir outside the project alone unless told otherwise.
        argv=(_tool("vite"), "build", "--outDir", str(ctx.out_dir), "--emptyOutDir", "--base", base_path(ctx.options)),
        output=None,
        requires=NODE,
        ignored=frozenset({"dist"}),
    )


def astro_plan(ctx: BuildContext) -> BuildPlan:
    return BuildPlan(
        argv=(_tool("astro"), "build", "--outDir", ASTRO_OUT_DIR, "--base", base_path(ctx.options)),
        output=ASTRO_OUT_DIR,
        env=MappingProxyType({"ASTRO_TELEMETRY_DISABLED": "1"}),
        requires=NODE,
        ignored=frozenset({"dist", ASTRO_OUT_DIR}),
    )


def next_plan(ctx: BuildContext) -> BuildPlan:
    # Next wants basePath without the trailing slash, and "" for the root.
    return BuildPlan(
        argv=(_tool("next"), "build"),
        output=NEXT_EXPORT_DIR,
        env=MappingProxyType(
            {
                "NEXT_TELEMETRY_DISABLED": "1",
                "SITEGATE_NEXT_DIST_DIR": NEXT_EXPORT_DIR,
                "SITEGATE_BASE_PATH": base_path(ctx.options).rstrip("/"),
            }
        ),
        requires=NODE,
        # next build rewrites next-env.d.ts; as an input it would change every build's id.
        ignored=frozenset({"out", NEXT_EXPORT_DIR, "next-env.d.ts"}),
        hint=NEXT_CONFIG_HINT,
    )


class _PresetBuilder(CommandBuilder):
    def preset_plan(self, ctx: BuildContext) -> BuildPlan:
        raise NotImplementedError

    def plan(self, ctx: BuildContext) -> BuildPlan:
        preset = self.preset_plan(ctx)
        if ctx.options.get("build") is None:
            return preset
        own = super().plan(ctx)
        return replace(preset, argv=own.argv, output=own.output, ignored=preset.ignored | own.ignored, hint="")


class ViteBuilder(_PresetBuilder):
    name: ClassVar[str] = "vite"

    def preset_plan(self, ctx: BuildContext) -> BuildPlan:
        return vite_plan(ctx)


class AstroBuilder(_PresetBuilder):
    name: ClassVar[str] = "astro"

    def preset_plan(self, ctx: BuildContext) -> BuildPlan:
        return astro_plan(ctx)


class NextBuilder(_PresetBuilder):
    name: ClassVar[str] = "next"

    def preset_plan(self, ctx: BuildContext) -> BuildPlan:
        return next_plan(ctx)


def dev_command(builder: str, options: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The command that starts a site's own dev server, with ``{port}`` where its port goes:
    the site's ``dev`` option, else its preset's; None when it has none (or ``dev = false``)."""
    value = options.get("dev")
    if value is False:
        return None
    if value is None:
        if builder not in DEV_COMMANDS:
            return None
        return command_option({"dev": DEV_COMMANDS[builder]}, "dev")
    return command_option(options, "dev")
