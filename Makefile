# archfarm: `make demo` shows the product, `make test` proves it. Both set up what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.archfarm-installed

.PHONY: help setup deps build bundle check test test-unit test-e2e test-fleet demo bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## host: dockerd, QEMU binfmt, a loopback registry, skopeo; the multi-platform test base image; Node.js for other CPUs; a PostgreSQL cluster for the tests
	bash scripts/host-setup.sh
	bash scripts/docker26.sh >/dev/null
	bash scripts/test-base.sh >/dev/null
	for arch in arm64 armv7l s390x ppc64le; do bash scripts/foreign-node.sh $$arch >/dev/null; done
	bash scripts/node-base.sh >/dev/null
	bash scripts/postgres.sh >/dev/null

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: $(NPM_STAMP) ## npm dependencies

build: deps ## compile every workspace (tsc -b)
	npx tsc -b

check: build ## generated code up to date, lint clean
	npm run proto:check
	npm run lint

test-unit: build ## unit tests (no engine needed)
	npm run test:unit

test-e2e: setup build ## cross-process tests: real engine, QEMU and registry
	npm run test:e2e

test: setup check ## everything CI runs
	npm run test:unit
	npm run test:e2e

bundle: build ## the agent and the CLI as one file each: agent/dist/bundle/archfarm-agent.cjs, cli/dist/bundle/archfarm.cjs
	npm run bundle -w @archfarm/agent
	npm run bundle -w @archfarm/cli

test-fleet: setup bundle ## by hand, slow (~11 min; the VM images once, ~35 min): Debian arm64 + s390x VMs (qemu-system), each with dockerd 20.10 + agent and dockerd 26
	nice -n 19 bash scripts/vm/image.sh arm64 s390x >/dev/null
	node --test --test-reporter=spec --test-timeout=5400000 test/dist/vm/vm-fleet.js

demo: setup build ## coordinator + local agent + registry: build examples/hello for 4 CPUs
	bash scripts/demo.sh

bench: setup build ## benchmarks (not in make test): six runs, tables on stdout, bench/RESULTS.md
	bash bench/setup.sh
	bash bench/run.sh

clean: ## remove build output and local state
	rm -rf */dist .archfarm
