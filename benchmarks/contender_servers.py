"""The servers sitegate is measured against, one per process, each a few lines of the library's
own documented use so that they measure the library and nothing of ours:

- ``floor ROOT``: an aiohttp handler answering each file's bytes from memory (aiohttp's floor:
  the least an aiohttp server can do per request; an If-None-Match equal to the file's ETag
  gets a 304, the least the 304 path can cost);
- ``static ROOT``: aiohttp's ``web.static``;
- ``starlette ROOT``: Starlette's ``StaticFiles`` under uvicorn, one process (peers' virtualenv);
- ``proxy UPSTREAM``: a plain aiohttp streaming proxy with one pooled client session;
- ``sink``: an upstream for the 100 MB transfers: ``POST /api/upload`` counts and drops the
  body, ``GET /api/download?bytes=N`` streams N zero bytes.

``python contender_servers.py KIND ARG --port P`` prints nothing; the caller waits for the port.
It imports nothing from sitegate, so the peers' virtualenv can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

_CHUNK = 64 * 1024
# Hop-by-hop headers a proxy must not pass on (RFC 9110, 7.6.1).
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"})


def floor_app(root: Path) -> Any:
    from aiohttp import web

    bodies = {f"/{path.name}": path.read_bytes() for path in root.iterdir() if path.is_file()}
    etags = {name: f'"{hashlib.md5(body).hexdigest()}"' for name, body in bodies.items()}

    async def handler(request: web.Request) -> web.Response:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404)
        etag = etags[request.path]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="text/html", headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/{name}", handler)
    return app


def static_app(root: Path) -> Any:
    from aiohttp import web

    app = web.Application()
    app.router.add_static("/", root)
    return app


def proxy_app(upstream: str) -> Any:
    import aiohttp
    from aiohttp import web

    async def session_context(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession(auto_decompress=False)
        yield
        await app["session"].close()

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP}
        async with request.app["session"].request(
            request.method, upstream + request.path_qs, headers=headers,
            data=request.content if request.body_exists else None, allow_redirects=False,
        ) as answer:  # fmt: skip
            response = web.StreamResponse(status=answer.status)
            response.headers.update({k: v for k, v in answer.headers.items() if k.lower() not in _HOP})
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(_CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=1024**3)
    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def sink_app() -> Any:
    from aiohttp import web

    async def upload(request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            total += len(chunk)
        return web.json_response({"bytes": total})

    async def download(request: web.Request) -> web.StreamResponse:
        left = int(request.query.get("bytes", "0"))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = left
        await response.prepare(request)
        chunk = bytes(_CHUNK)
        while left > 0:
            await response.write(chunk[: min(left, _CHUNK)])
            left -= _CHUNK
        return response

    app = web.Application()
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/api/download", download)
    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("floor", "static", "starlette", "proxy", "sink"))
    parser.add_argument("target", nargs="?", default="", help="the folder served, or the upstream URL")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.kind == "starlette":
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        app = Starlette(routes=[Mount("/", StaticFiles(directory=args.target))])
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
        return 0
    from aiohttp import web

    if args.kind == "proxy":
        app = proxy_app(args.target)
    elif args.kind == "sink":
        app = sink_app()
    else:
        app = floor_app(Path(args.target)) if args.kind == "floor" else static_app(Path(args.target))
    # Peers without an access log: each is the least its library does per request.
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
