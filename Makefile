# eks-multus. `make plan` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed
SCAN_VENV ?= .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed

.PHONY: plan test lint scan conformance bench system-deps clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# checkov in its own venv: its pins (packaging<24) conflict with pulumi's (packaging>=26).
$(SCAN_STAMP): requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $(SCAN_STAMP)

plan: $(STAMP)  ## offline plan of STACK (or CONFIG=path), into build/plan/<stack> (or OUT=dir)
	$(PY) -m plan --stack $(STACK) $(if $(CONFIG),--config $(CONFIG)) $(if $(OUT),--out $(OUT))

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint -no-color

test: $(STAMP) $(SCAN_STAMP) system-deps lint  ## the whole suite: pure, plugin, components, stacks, security scan, examples, conformance, project
	CHECKOV=$(SCAN_VENV)/bin/checkov $(PY) -m pytest

scan: $(STAMP) $(SCAN_STAMP)  ## checkov over every stack's planned manifests, and the AWS security rules
	CHECKOV=$(SCAN_VENV)/bin/checkov $(PY) -m pytest tests/security -q

conformance: $(STAMP) system-deps
	$(PY) -m pytest tests/conformance

bench: $(STAMP)
	$(PY) -m bench

system-deps:  ## Debian packages for the conformance layer (installed when missing and running as root)
	@bash scripts/system-deps.sh

clean:
	rm -rf build .pytest_cache .hypothesis
