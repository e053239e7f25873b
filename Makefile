# The README's commands. Each sets up what it needs, so both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SITEGATE_SITES_DIR ?= $(CURDIR)/sites

.PHONY: serve dev test bench bench-deps system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests drive for real: nginx in front of the gateway (with its brotli
# module, for nginx-config --brotli), Chromium for live reload, Node and npm for framework sites
# and Tailwind. Each is a command or a file it installs, and is installed only when missing.
APT_PACKAGES := nginx:nginx-light chromium:chromium node:nodejs npm:npm \
	/usr/lib/nginx/modules/ngx_http_brotli_static_module.so:libnginx-mod-http-brotli-static
system-deps:
	@missing=""; for pair in $(APT_PACKAGES); do \
		tool=$${pair%%:*}; \
		if [ "$${tool#/}" != "$$tool" ]; then test -e "$$tool"; else command -v "$$tool" >/dev/null 2>&1; fi \
			|| missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

serve: $(STAMP)
	$(BIN)/python -m gateway.cli up

dev: $(STAMP)
	$(BIN)/python -m gateway.cli up --dev

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

# What `make bench` drives besides Python: wrk for load and nginx as the serving peer, each
# installed only when missing.
BENCH_PACKAGES := wrk:wrk nginx:nginx-light
bench-deps:
	@missing=""; for pair in $(BENCH_PACKAGES); do \
		command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# QUICK=1: issue 14's measurements shrunk to under two minutes, without the build and reload sections.
bench: $(STAMP) bench-deps
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .pytest_cache
