"""The ``sitegate`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from aiohttp import web

from gateway.app import create_app
from gateway.config import ConfigError, Settings, load_settings
from gateway.listen import LimitedSite, serve
from gateway.ops import build_command, cluster_rollback, deploy, nginx_command, rollback
from gateway.ops.build_command import BUILD_HELP
from gateway.ops.deploy import DEPLOY_HELP
from gateway.ops.log_format import configure_logging
from gateway.ops.nginx_command import NGINX_HELP
from gateway.ops.rollback import ROLLBACK_HELP
from gateway.ops.sites_list import SITES_HELP, as_json, as_table, list_sites
from gateway.sites.create import CreateError, create_site
from gateway.workers import check_port, supervise

EXIT_USAGE = 2


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (SITEGATE_HOST, default 0.0.0.0)")
    parser.add_argument("--port", help="port to listen on (SITEGATE_PORT, default 3000)")
    parser.add_argument("--sites", help="the sites folder (SITEGATE_SITES_DIR, default ./sites)")
    parser.add_argument("--build-dir", help="where builds go (SITEGATE_BUILD_DIR)")
    parser.add_argument("--backend-url", help="the shared backend (SITEGATE_BACKEND_URL)")
    parser.add_argument(
        "--log-format", help="text or json, one object per line (SITEGATE_LOG_FORMAT, default text)"
    )


def _folder_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sites", help="the sites folder (SITEGATE_SITES_DIR, default ./sites)")
    parser.add_argument("--build-dir", help="where builds go (SITEGATE_BUILD_DIR)")


class _KeepLines(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their own line breaks."""


class _OneLineErrors(argparse.ArgumentParser):
    """Wrong arguments are one line on stderr and exit 2, like every other refusal of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(prog="sitegate", description="One gateway, many sites.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    _server_flags(serve)
    serve.add_argument("--dev", action="store_true", help="development mode")
    serve.add_argument(
        "--workers", help="processes serving the port: a number or auto, one per core (SITEGATE_WORKERS, default 1)"
    )
    dev = commands.add_parser("dev", help="run the gateway in development mode")
    _server_flags(dev)
    dev.add_argument("site", nargs="?", help="the site http://localhost:PORT/ shows (every site is at http://SITE.localhost:PORT/)")
    up = commands.add_parser("up", help="run the gateway and the shared backend together")
    _server_flags(up)
    up.add_argument("--dev", action="store_true", help="development mode")
    create = commands.add_parser("create", help="add a site from a template")
    create.add_argument("domain", help="the site's primary domain, e.g. example.com")
    create.add_argument("--template", default="default", help="default, blog or vite (SITEGATE_TEMPLATES_DIR)")
    create.add_argument("--sites", help="the sites folder (SITEGATE_SITES_DIR, default ./sites)")
    commands.add_parser("backend", help="run or manage the shared backend", add_help=False)
    sites = commands.add_parser(
        "sites", help="list the sites and their builds", description=SITES_HELP, formatter_class=_KeepLines
    )
    sites.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    _folder_flags(sites)
    rollback = commands.add_parser(
        "rollback", help="serve a kept earlier build again", description=ROLLBACK_HELP, formatter_class=_KeepLines
    )
    rollback.add_argument("site_name", metavar="SITE", help="the site, by its folder name")
    rollback.add_argument("build_id", nargs="?", metavar="BUILD_ID", help="default: the build before the current one")
    _folder_flags(rollback)
    rollback.add_argument("--gateway-url", help="the running gateway to tell (SITEGATE_GATEWAY_URL)")
    build = commands.add_parser(
        "build", help="build sites and publish them", description=BUILD_HELP, formatter_class=_KeepLines
    )
    build.add_argument("site_names", nargs="*", metavar="SITE", help="the sites, by their folder names")
    build.add_argument("--all", action="store_true", help="every site in the sites folder")
    build.add_argument("--jobs", type=int, default=2, help="sites built at once (default 2)")
    _folder_flags(build)
    build.add_argument("--gateway-url", help="the running gateway to tell (SITEGATE_GATEWAY_URL)")
    deploy_ = commands.add_parser(
        "deploy", help="build sites and publish them to the cluster", description=DEPLOY_HELP, formatter_class=_KeepLines
    )
    deploy_.add_argument("site_names", nargs="+", metavar="SITE", help="the sites, by their folder names")
    _folder_flags(deploy_)
    nginx = commands.add_parser(
        "nginx-config", help="print an nginx config for the sites", description=NGINX_HELP, formatter_class=_KeepLines
    )
    gateways = nginx.add_mutually_exclusive_group()
    gateways.add_argument("--gateway", help="the gateway nginx forwards to (default SITEGATE_GATEWAY_URL)")
    gateways.add_argument(
        "--upstream", action="append", default=[], metavar="HOST:PORT", help="one of several gateways (repeat it)"
    )
    nginx.add_argument("--backend", help="send /api straight to this backend (default: through the gateway)")
    nginx.add_argument("--direct", action="store_true", help="nginx serves built files itself")
    nginx.add_argument("--listen", default="80", help="nginx's listen address or port (default 80)")
    nginx.add_argument("--brotli", action="store_true", help="serve .br siblings (needs nginx's brotli module)")
    nginx.add_argument("--output", type=Path, help="write it to this file (default: stdout)")
    _folder_flags(nginx)
    return parser


def _settings(args: argparse.Namespace, dev: bool) -> Settings:
    return load_settings(
        overrides={
            "HOST": getattr(args, "host", None),
            "PORT": getattr(args, "port", None),
            "SITES_DIR": args.sites,
            "BUILD_DIR": getattr(args, "build_dir", None),
            "BACKEND_URL": getattr(args, "backend_url", None),
            "MODE": "development" if dev else None,
            "DEFAULT_SITE": getattr(args, "site", None),
            "GATEWAY_URL": getattr(args, "gateway_url", None),
            "LOG_FORMAT": getattr(args, "log_format", None),
            "WORKERS": getattr(args, "workers", None),
        }
    )


def _check_sites_dir(settings: Settings) -> None:
    if not settings.sites_dir.is_dir():
        raise ConfigError(f"SITEGATE_SITES_DIR={str(settings.sites_dir)!r}: no such folder")


def _run_gateway(settings: Settings) -> None:
    app = create_app(settings)
    logging.getLogger("sitegate").info(
        "sitegate %s on http://%s:%d, sites from %s", settings.mode.value, settings.host, settings.port, settings.sites_dir
    )
    asyncio.run(serve(app, settings))


async def _run_together(settings: Settings) -> None:
    """The gateway and the backend in one process, as ``make serve`` wants it."""
    from shared.backend.cli import start_backend

    # The backend's rebuild hooks go to the gateway beside it, wherever --port put it.
    settings = replace(settings, gateway_url=f"http://127.0.0.1:{settings.port}")

    runners: list[web.AppRunner] = []
    try:
        runners.append(await start_backend(settings))
        gateway = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=settings.shutdown_grace)
        await gateway.setup()
        await LimitedSite(gateway, settings.host, settings.port, max_connections=settings.max_connections).start()
        runners.append(gateway)
        logging.getLogger("sitegate").info(
            "sitegate %s on http://%s:%d with the backend at %s",
            settings.mode.value, settings.host, settings.port, settings.backend_url,
        )
        await asyncio.Event().wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _create(settings: Settings, domain: str, template: str) -> int:
    try:
        folder = create_site(settings.sites_dir, settings.templates_dir, domain, template)
    except CreateError as error:
        print(f"sitegate create: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"created {folder} from the {template} template")
    print(f"serve it: sitegate dev {folder.name}  →  http://{folder.name}.localhost:{settings.port}/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["backend"]:
        from shared.backend.cli import main as backend_main

        return backend_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = _settings(args, dev=args.command == "dev" or getattr(args, "dev", False))
        configure_logging(settings.log_format)
        if args.command == "create":
            return _create(settings, args.domain, args.template)
        _check_sites_dir(settings)
        if args.command == "sites":
            print(as_json(list_sites(settings)) if args.json else as_table(list_sites(settings)))
            return 0
        if args.command == "rollback" and settings.cluster is not None:
            return cluster_rollback.run(settings, args.site_name, args.build_id)
        if args.command == "rollback":
            return rollback.run(settings, args.site_name, args.build_id)
        if args.command == "deploy":
            return deploy.run(settings, args.site_names)
        if args.command == "build":
            return build_command.run(settings, args.site_names, args.all, args.jobs)
        if args.command in ("serve", "dev") and settings.workers > 1:
            if settings.dev:
                raise ConfigError("development mode runs one process: leave out --workers (SITEGATE_WORKERS)")
            check_port(settings)
            return supervise(settings.workers, lambda _number: _run_gateway(settings))
        if args.command == "nginx-config":
            return nginx_command.run(
                settings, argv[1:], gateway=args.gateway, backend=args.backend, direct=args.direct,
                listen=args.listen, brotli=args.brotli, output=args.output, upstreams=args.upstream,
            )  # fmt: skip
    except ConfigError as error:
        print(f"sitegate: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "up":
        try:
            asyncio.run(_run_together(settings))
        except KeyboardInterrupt:
            pass
        return 0
    _run_gateway(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
