"""``sitegate backend``: run the shared backend, or add a user to a tenant.

This is the one place the backend's settings are built, from ``gateway.config`` (which alone
reads the environment) and the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from urllib.parse import urlsplit

from aiohttp import web

from gateway.config import ConfigError, Settings, load_settings

from .app import create_app
from .auth import check_password, create_account, normalise_email
from .errors import ApiError
from .passwords import Passwords
from .settings import BackendSettings, default_store_url
from .store import Conflict, Role, StoreUnavailable
from .stores import StoreUrlError, store_for_url
from .tenancy import normalise_tenant

EXIT_FAILURE = 1
EXIT_USAGE = 2
DEFAULT_HOST = "127.0.0.1"

log = logging.getLogger("sitegate.backend")


def backend_settings(settings: Settings) -> BackendSettings:
    return BackendSettings(
        data_dir=settings.data_dir,
        store_url=settings.store_url or default_store_url(settings.data_dir),
        backend_token=settings.backend_token,
        gateway_url=settings.gateway_url,
        trusted_proxies=settings.trusted_proxies,
    )


def _backend_port(settings: Settings) -> int:
    """The port the gateway expects the backend on, so the two agree without being told."""
    return urlsplit(settings.backend_url).port or 8000


async def start_backend(settings: Settings) -> web.AppRunner:
    """The backend serving where ``settings.backend_url`` points, started in this loop."""
    config = backend_settings(settings)
    runner = web.AppRunner(create_app(store_for_url(config.store_url), settings=config), access_log=None)
    await runner.setup()
    host = urlsplit(settings.backend_url).hostname or DEFAULT_HOST
    await web.TCPSite(runner, host, _backend_port(settings)).start()
    return runner


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError("must be a number from 0 to 65535")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegate backend",
        description="Run the shared multi-tenant backend (blog, auth, media).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=_port, help="port to listen on (default: the port of SITEGATE_BACKEND_URL, 8000)"
    )
    parser.add_argument("--store", help="store URL: sqlite:///path or mongodb://host/db (SITEGATE_STORE_URL)")
    commands = parser.add_subparsers(dest="command")
    create = commands.add_parser("create-user", help="add a user to a tenant")
    create.add_argument("--tenant", required=True, help="the site's domain, e.g. example.com")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="", help="display name (default: the email's local part)")
    create.add_argument(
        "--role",
        choices=[role.value for role in Role],
        default=Role.READER.value,
        help="default: reader; this command is how a site gets its first editor",
    )
    create.add_argument("--password", help="the password (default: read from standard input)")
    return parser


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass("password: ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


async def _create_user(config: BackendSettings, args: argparse.Namespace, password: str) -> str:
    tenant = normalise_tenant(args.tenant)
    if tenant is None:
        raise ValueError(f"--tenant {args.tenant!r} is not a domain name")
    email = normalise_email(args.email)
    check_password(password)
    store = store_for_url(config.store_url)
    await store.open()
    try:
        user = await create_account(
            store,
            Passwords(config.password_cost),
            tenant,
            email=email,
            password=password,
            name=args.name.strip(),
            role=Role(args.role),
        )
    finally:
        await store.close()
    return f"created {user.role.value} {user.email} on {tenant} (id {user.id})"


def _serve(config: BackendSettings, host: str, port: int) -> None:
    app = create_app(store_for_url(config.store_url), settings=config)
    log.info("sitegate backend on http://%s:%d, store %s", host, port, config.store_url.split("@")[-1])
    web.run_app(app, host=host, port=port, print=None, access_log=None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = load_settings(overrides={"STORE_URL": args.store})
        config = backend_settings(settings)
        store_for_url(config.store_url)
    except (ConfigError, StoreUrlError) as error:
        print(f"sitegate backend: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "create-user":
        try:
            print(asyncio.run(_create_user(config, args, _read_password(args.password))))
        except (ApiError, ValueError) as error:
            print(f"sitegate backend: {error}", file=sys.stderr)
            return EXIT_USAGE
        except (Conflict, StoreUnavailable) as error:
            print(f"sitegate backend: {error}", file=sys.stderr)
            return EXIT_FAILURE
        return 0
    try:
        _serve(config, args.host, _backend_port(settings) if args.port is None else args.port)
    except StoreUnavailable as error:
        print(f"sitegate backend: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return 0
