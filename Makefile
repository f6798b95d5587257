# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the end-to-end demo on local files
#   make test   runs the whole test suite
# Each bootstraps uv into .tools/ and lets it build .venv from uv.lock.

PYTHON ?= python3
UV := .tools/bin/uv
UV_VERSION := 0.13.9

.PHONY: demo test lint bench bench-local bench-remote clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

demo: $(UV)
	$(UV) run --all-extras --group test python -m zarrkit.demo

test: $(UV)
	$(UV) run --all-extras --group test --group dev pytest -n 2

lint: $(UV)
	$(UV) run --group dev ruff check .
	$(UV) run --group dev ruff format --check .

# bench = both suites: local files (benchmarks.run), then object stores with latency
# (benchmarks.remote: an HTTP object server and moto's S3, 20 ms per request).
bench: bench-local bench-remote

bench-local: $(UV)
	$(UV) run --all-extras --group test --group bench python -m benchmarks.run

bench-remote: $(UV)
	$(UV) run --all-extras --group test --group bench python -m benchmarks.remote

clean:
	rm -rf .venv .tools .cache
