# The two commands a new user needs: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all demo test test-fast up down bench lint typecheck bundle-check deps system-deps player-assets clean

all: test

## Installs ---------------------------------------------------------------------------------------
system-deps: .cache/system-deps.stamp
.cache/system-deps.stamp:
	@mkdir -p .cache
	@if ! command -v ffmpeg >/dev/null || ! command -v chromium >/dev/null; then \
	  echo "installing ffmpeg and chromium from Debian's packages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg chromium >/dev/null; \
	fi
	@touch $@

$(VENV)/stamp: requirements.txt requirements-dev.txt gpu_worker/requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .  # the `lp` command (pyproject.toml's [project.scripts])
	@touch $@

# `npm install` rather than `npm ci`: the lock holds only the platform binaries the registry
# serves (Anvil's darwin/win32 packages are not there), and npm ci refuses such a lock. npm
# install still takes the exact versions from package-lock.json and leaves it unchanged.
node_modules/.stamp: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

# The player page's hls.js (and its worker), copied from the npm package pinned in package.json and
# package-lock.json into chalicelib/, which `chalice package` bundles whole. The copies are git-ignored and
# never edited: scripts/check_bundle.py checks that the bundle's equal the installed package's.
PLAYER_NPM := chalicelib/playback/static/npm
PLAYER_ASSETS := $(PLAYER_NPM)/hls.min.js $(PLAYER_NPM)/hls.worker.js
$(PLAYER_NPM)/%.js: node_modules/.stamp
	@mkdir -p $(PLAYER_NPM)
	cp node_modules/hls.js/dist/$*.js $@

player-assets: $(PLAYER_ASSETS)

deps: system-deps $(VENV)/stamp node_modules/.stamp player-assets

-include contracts/contracts.mk

## The local stack ---------------------------------------------------------------------------------
up: deps ## start moto, the gateway, two orchestrators and their workers in the background
	$(PY) -m devstack up

down: ## stop the local stack
	$(PY) -m devstack down

demo: deps ## start the stack, push real footage live, print the playback URL and a rendition table
	$(PY) -m devstack demo $(DEMO_ARGS)

## Checks ------------------------------------------------------------------------------------------
lint: $(VENV)/stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check chalicelib gpu_worker devstack lpcli app.py tests bench

typecheck: $(VENV)/stamp
	$(VENV)/bin/mypy --strict chalicelib gpu_worker lpcli
	$(VENV)/bin/mypy app.py devstack contracts bench

bundle-check: $(VENV)/stamp player-assets ## the Lambda bundle builds, fits Lambda's limits, carries hls.js, lacks PyAV
	$(PY) scripts/check_bundle.py

test: deps lint typecheck bundle-check contracts
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint, types and the in-process tests of every domain package (moto's mock_aws, chalice.test): no
# local stack, no chain, no browser; well under a minute.
test-fast: $(VENV)/stamp lint typecheck player-assets
	$(PY) -m pytest tests/domain $(PYTEST_ARGS)

bench: deps contracts ## transcode vs ffmpeg CLI, pipeline latency, contract gas
	$(PY) bench/transcode_bench.py
	$(PY) bench/payments_bench.py
	$(PY) bench/payment_overhead.py
	$(PY) bench/pipeline_latency.py
	$(PY) bench/gas_report.py

clean:
	rm -rf .cache/media .pytest_cache .mypy_cache .ruff_cache
