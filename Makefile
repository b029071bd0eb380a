# eks-multus. `make plan` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: plan test lint conformance bench system-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

plan: $(STAMP)  ## offline plan of STACK (default dev) or CONFIG=path (not both), into build/plan/<stack> (or OUT=dir)
	$(PY) -m plan $(if $(STACK),--stack $(STACK)) $(if $(CONFIG),--config $(CONFIG)) $(if $(OUT),--out $(OUT))

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint -no-color

test: $(STAMP) system-deps lint  ## the whole suite in random order (pytest-randomly; the seed is printed): pure, plugin, components, stacks, examples, conformance, project
	$(PY) -m pytest -p randomly

conformance: $(STAMP) system-deps
	$(PY) -m pytest tests/conformance

bench: $(STAMP)
	$(PY) -m bench

system-deps:  ## Debian packages for the conformance layer (installed when missing and running as root)
	@bash scripts/system-deps.sh

clean:
	rm -rf build .pytest_cache .hypothesis
