# eks-multus. `make plan` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PLAN_STAMP := $(VENV)/.installed-plan
SCAN_VENV ?= .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed

.PHONY: plan schema test lint scan conformance bench system-deps clean

# Planning needs only requirements.txt; the test toolchain (requirements-dev.txt) comes with test and lint.
# scripts/venv.sh also works where Debian's python3-venv (ensurepip) is missing.
$(PLAN_STAMP): requirements.txt
	PYTHON=$(PYTHON) bash scripts/venv.sh $(VENV) requirements.txt
	touch $(PLAN_STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	PYTHON=$(PYTHON) bash scripts/venv.sh $(VENV) requirements-dev.txt
	touch $(STAMP)

# A full (test) install serves planning too.
PLAN_NEEDS := $(if $(wildcard $(STAMP)),$(STAMP),$(PLAN_STAMP))

# checkov in its own venv: its pins (packaging<24) conflict with pulumi's (packaging>=26).
$(SCAN_STAMP): requirements-scan.txt
	PYTHON=$(PYTHON) bash scripts/venv.sh $(SCAN_VENV) requirements-scan.txt
	touch $(SCAN_STAMP)

plan: $(PLAN_NEEDS)  ## offline plan of STACK (default dev) or CONFIG=path (not both), into build/plan/<stack> (or OUT=dir)
	$(PY) -m plan $(if $(STACK),--stack $(STACK)) $(if $(CONFIG),--config $(CONFIG)) $(if $(OUT),--out $(OUT))

schema: $(PLAN_NEEDS)  ## the component package's schema (what `pulumi package add` generates SDKs from), into build/plan/schema.json
	$(PY) -m plan --schema build/plan/schema.json

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PATH="$(VENV)/bin:$$PATH" $(VENV)/bin/actionlint -no-color

# Two pytest-xdist workers, whole files each (--dist loadfile): one boots the conformance VM (its file is
# ordered first by tests/conftest.py), the other runs every other file meanwhile; User-Mode Linux uses one CPU.
# (--dist loadgroup would be finer, but pytest-xdist 3.8.0 renames grouped tests through Item._nodeid, which
# pytest 9 no longer reads: the group's tests then spread over both workers and the VM boots twice.)
TEST_WORKERS ?= 2

test: $(STAMP) $(SCAN_STAMP) system-deps lint  ## the whole suite in random order (pytest-randomly; the seed is printed): pure, plugin, components, stacks, security scan, examples, conformance, project
	CHECKOV=$(SCAN_VENV)/bin/checkov $(PY) -m pytest -p randomly -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

scan: $(STAMP) $(SCAN_STAMP)  ## checkov over every stack's planned manifests, and the AWS security rules
	CHECKOV=$(SCAN_VENV)/bin/checkov $(PY) -m pytest tests/security -q

conformance: $(STAMP) system-deps
	$(PY) -m pytest tests/conformance

bench: $(STAMP)  ## plan timings, then the CNI bench (root: cgroups with the Multus container's limits) into build/bench/cni.json
	$(PY) -m bench
	$(PY) -m bench.cni

system-deps:  ## Debian packages for the conformance layer (installed when missing and running as root)
	@bash scripts/system-deps.sh

clean:
	rm -rf build .pytest_cache .hypothesis
