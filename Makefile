# OnlyWave Infra. The two commands a newcomer needs: `make up` and `make test`.
# Every target installs what it needs and is safe to run twice.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= 1
# Molecule scenarios live in molecule/ at the collection root (not extensions/molecule).
export MOLECULE_GLOB := molecule/*/molecule.yml
SCENARIO ?=
# make rehearsal ENV=staging rehearses staging instead.
ENV ?= prod
# The release of the reference API (app/) that `make up` deploys when the dev
# edge serves none yet.
UP_RELEASE ?= 1.0.0

.PHONY: help setup engine image aws aws-stop lint unit sanity molecule integration test up down rehearsal rehearsal-down rehearsal-test

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## Create .venv with the pinned Python dependencies
	@scripts/setup.sh

engine: ## Make sure a Docker engine answers (installs and starts Debian's docker.io if needed)
	@scripts/engine.sh

image: engine ## Build the local systemd host image used by molecule and the dev environment
	@scripts/image.sh

aws: setup ## Start the local AWS emulator (moto server)
	@scripts/aws.sh start

aws-stop: ## Stop the local AWS emulator
	@scripts/aws.sh stop

lint: setup ## ansible-lint (production), yamllint, ruff, syntax checks, inventories
	@scripts/lint.sh

unit: setup ## Python unit tests of the plugins
	@echo "unit: pytest tests/unit"
	@pytest -q tests/unit

sanity: setup ## ansible-test sanity on the collection's plugins
	@scripts/sanity.sh

molecule: setup image aws ## Molecule scenarios: all, or SCENARIO=<name>
	@AWS_EMULATOR_URL=$$(scripts/aws.sh url) scripts/molecule.sh $(SCENARIO)

integration: setup image aws ## Integration tests (AWS layer, dev environment, inventories)
	@scripts/integration.sh

test: ## Everything: lint, unit, sanity, molecule, integration, in two lanes (prints each stage's time)
	@scripts/test.sh

up: setup image aws ## Bring up the dev environment, apply site.yml, deploy the reference API if none runs
	@echo "up: creating the dev host containers"
	@ansible-playbook playbooks/dev_up.yml
	@echo "up: applying site.yml to the dev environment"
	@ansible-playbook site.yml
	@# A release that the edge serves already is left as it is (site.yml never changes it either).
	@if curl -sf -o /dev/null --cacert "$$HOME/.cache/onlywave-infra/dev/pki/ca.crt" https://127.0.0.1:8443/version; then \
	  echo "up: the edge serves a release already; deploy another with playbooks/deploy.yml"; \
	else \
	  echo "up: deploying the reference API (app/) as release $(UP_RELEASE)"; \
	  ansible-playbook playbooks/deploy.yml -e deploy_version=$(UP_RELEASE); \
	fi
	@ansible-playbook playbooks/dev_urls.yml

down: setup ## Remove the dev environment (containers, volumes, networks)
	@ansible-playbook playbooks/dev_down.yml

rehearsal: setup image ## Rehearse ENV (prod) from nothing: its own inventory on local hosts, site.yml twice
	@ENV=$(ENV) scripts/rehearsal.sh up

rehearsal-down: setup ## Remove the rehearsal of ENV (prod)
	@ENV=$(ENV) scripts/rehearsal.sh down

rehearsal-test: setup image ## The rehearsal's tests for ENV (prod; make test runs prod's)
	@REHEARSAL_ENV=$(ENV) pytest -q -s --durations=0 tests/integration/test_rehearsal.py
