# agent-iam: two commands set everything up on a fresh machine.
#   make plan [STACK=prod]   offline plan of a stack (creates .venv and installs pinned deps when missing)
#   make test                the test suite (same set-up)
#   make plan-all            plan every stack in stacks/ in parallel (one process per core) and summarize
#   make bench               plan vs floor benchmark at N = 10, 100, 1000 units (BENCH_QUICK=1: smoke test)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
STAMP  := $(VENV)/.installed-dev

.PHONY: plan plan-all bench test clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

plan: $(STAMP)
	$(PY) -m plan --stack $(STACK)

plan-all: $(STAMP)
	$(PY) -m plan.all --compare

bench: $(STAMP)
	$(PY) -m bench

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf build .pytest_cache .hypothesis
