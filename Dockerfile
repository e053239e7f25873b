# syntax=docker/dockerfile:1
# One image for every sitegate process: the gateway (the default command), the shared backend
# (`sitegate backend`), `sitegate build` and `sitegate nginx-config`; the compose files pick.

# Node.js for the framework sites and Tailwind. Debian bookworm's nodejs is 18, too old: the
# lockfiles' Vite 8 (and its rolldown) need Node ^20.19 or >=22.12, Astro 5 and Next 15 run on
# 22. The official image's build of the current 22 LTS, copied in below, avoids a third-party
# apt repository and keeps npm at the version that Node release ships.
FROM node:22-bookworm-slim AS node

# Stage 1: the wheels. sitegate's own (it carries the shared components, the site templates and
# the live-reload script) and those of its dependencies, so the final stage installs offline.
FROM python:3.11-slim-bookworm AS wheels
WORKDIR /src
COPY pyproject.toml ./
COPY gateway ./gateway
COPY builders ./builders
COPY shared ./shared
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
# The oldest Node.js the lockfiles accept (see the node stage); the build fails below it.
ARG NODE_MINIMUM=22.12
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && version="$(node --version)" && npm --version \
 && have="${version#v}" && have_major="${have%%.*}" && have_minor="${have#*.}" && have_minor="${have_minor%%.*}" \
 && want_major="${NODE_MINIMUM%%.*}" && want_minor="${NODE_MINIMUM#*.}" \
 && if [ "$have_major" -lt "$want_major" ] \
       || { [ "$have_major" -eq "$want_major" ] && [ "$have_minor" -lt "$want_minor" ]; }; then \
      echo "Node.js $version is older than $NODE_MINIMUM, which the framework presets need" >&2; exit 1; \
    fi \
 && echo "Node.js $version"

RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/sitegate-*.whl

# A fixed uid/gid, so that volumes keep their owner across rebuilds and hosts. It owns the
# build and data volumes, its HOME (npm's cache), the folder the nginx config is written to,
# and the sites, where npm installs each site's node_modules beside its sources.
RUN groupadd --system --gid 10001 sitegate \
 && useradd --system --uid 10001 --gid sitegate --home-dir /var/lib/sitegate --shell /usr/sbin/nologin sitegate \
 && mkdir -p /var/lib/sitegate/builds /var/lib/sitegate/data /var/lib/sitegate/nginx /app/sites \
 && chown -R sitegate:sitegate /var/lib/sitegate /app
WORKDIR /app
COPY --chown=sitegate:sitegate sites ./sites

ENV SITEGATE_SITES_DIR=/app/sites \
    SITEGATE_BUILD_DIR=/var/lib/sitegate/builds \
    SITEGATE_DATA_DIR=/var/lib/sitegate/data \
    SITEGATE_HOST=0.0.0.0 \
    SITEGATE_PORT=3000 \
    HOME=/var/lib/sitegate \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 3000
# The gateway's; a container running `sitegate backend` (port 8000) overrides it (see compose).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/_sitegate/health', timeout=3)"]
# One worker per core (SITEGATE_WORKERS): they share the port and the build folder.
CMD ["sitegate", "serve", "--workers", "auto"]
