# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the end-to-end demo on local files
#   make test   runs every check CI runs (.ci/run calls it); see CONTRIBUTING.md
# Each bootstraps uv into .tools/ and lets it build .venv from uv.lock.
#
# make test = services, lint, typecheck, doctest, test-core, then the whole suite.
#   make test-fast   the quick local loop: no servers, no slow tests
#   make services    installs the servers the storage tests start (scripts/services.sh)
#   make test-core   the no-extras job: the core tests and mypy in .venv-core, which holds
#                    the core dependencies and the test tools only

PYTHON ?= python3
UV := .tools/bin/uv
UV_VERSION := 0.13.9
# .venv: every extra, the peers and the tools
RUN := $(UV) run --all-extras --group test --group dev
# .venv-core: no extra, no peer (--exact removes whatever else is there)
RUN_CORE := UV_PROJECT_ENVIRONMENT=.venv-core $(UV) run --exact --no-default-groups \
	--group test-core --group dev
PYTEST := pytest -n 2 -p no:cacheprovider
CI_PROFILE := ZARRKIT_HYPOTHESIS_PROFILE=zarrkit-ci

.PHONY: demo test test-fast test-core services lint typecheck doctest bench bench-local \
	bench-remote clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

demo: $(UV)
	$(RUN) python -m zarrkit.demo

test: services lint typecheck doctest test-core
	$(CI_PROFILE) $(RUN) $(PYTEST)

test-fast: $(UV)
	ZARRKIT_NO_SERVERS=1 $(RUN) $(PYTEST) -m "not slow"

test-core: $(UV)
	ZARRKIT_CORE=1 $(CI_PROFILE) $(RUN_CORE) $(PYTEST)
	$(RUN_CORE) mypy

services:
	scripts/services.sh

lint: $(UV)
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: $(UV)
	$(RUN) mypy

doctest: $(UV)
	$(RUN) pytest -p no:cacheprovider --doctest-modules src/zarrkit

# bench = both suites: local files (benchmarks.run), then object stores with latency
# (benchmarks.remote: an HTTP object server and moto's S3, 20 ms per request).
bench: bench-local bench-remote

bench-local: $(UV)
	$(RUN) --group bench python -m benchmarks.run

bench-remote: $(UV)
	$(RUN) --group bench python -m benchmarks.remote

clean:
	rm -rf .venv .venv-core .tools .cache
