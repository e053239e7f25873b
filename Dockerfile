# One image for the gateway and the shared backend; docker-compose.yml picks the command.
FROM python:3.11-slim

# Node and npm build the framework sites (Vite, Astro, Next) and Tailwind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY builders ./builders
COPY shared ./shared
# The wheel carries the shared components, the site templates and the live-reload script.
RUN pip install --no-cache-dir .
COPY sites ./sites

ENV SITEGATE_SITES_DIR=/app/sites \
    SITEGATE_BUILD_DIR=/var/lib/sitegate/builds \
    SITEGATE_DATA_DIR=/var/lib/sitegate/data \
    SITEGATE_HOST=0.0.0.0
EXPOSE 3000 8000
CMD ["sitegate", "serve"]
