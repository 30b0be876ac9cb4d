# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime-installed
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint unit system-deps bench clean noise findings

# The runtime dependencies only: all `make demo` (and `role-monitor`) needs. A venv that
# already has the test extras (below) has them too.
$(RUNTIME): pyproject.toml
	if [ ! $(STAMP) -nt pyproject.toml ]; then $(PYTHON) -m venv $(VENV) && $(PIP) -e .; fi
	touch $(RUNTIME)

# Runtime plus the test extras (pytest, moto, ruff, mypy, ...) for `make test` and `make lint`.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	touch $(STAMP)

## Replay the bundled sample organisation and stream; findings are printed readably.
demo: $(RUNTIME)
	$(VENV)/bin/role-monitor replay --config examples/config.yaml --format pretty examples/stream

## The whole suite: lint, types, then every test against real components.
test: $(STAMP) system-deps lint
	$(PY) -m pytest --durations=10

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor detectors dashboards tests bench scripts
	$(VENV)/bin/ruff format --check monitor detectors dashboards tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy dashboards

## Debian's prometheus and alertmanager (promtool, amtool) for the metrics and alerting tests.
system-deps:
	@scripts/install-system-deps

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: docs
## Regenerate the generated documentation (docs/detectors.md, docs/configuration.md).
docs: $(STAMP)
	$(PY) -m detectors.docs > docs/detectors.md
	$(PY) -m monitor.commands.config_docs > docs/configuration.md

## How loud the monitor is on an ordinary organisation's fortnight: writes bench/NOISE.md.
noise: $(STAMP)
	$(PY) -m bench.noise

## Every finding of the golden cases, the example and both noise workloads, one file each, into
## $(OUT): `diff -r` two runs (two commits, or JOBS=1 vs JOBS=2) to see any change, byte for byte.
OUT ?= findings-out
JOBS ?= 1
findings: $(STAMP)
	$(PY) -m bench.findings $(OUT) --jobs $(JOBS) $(FINDINGS_ARGS)
