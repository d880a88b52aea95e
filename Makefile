# Thin entry points; the logic lives in TypeScript under tools/.
STACK ?= dev
NPM   ?= npm

.PHONY: help install bootstrap destroy upload-do render validate test bench-sync

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch node_modules

install: node_modules ## Install dependencies from the lockfile

bootstrap: ## Check prerequisites, then pulumi up the stack (STACK=dev) and write kubeconfig.yaml
	@STACK=$(STACK) node tools/bootstrap/preflight.mjs bootstrap
	@$(MAKE) --no-print-directory install
	@$(NPM) run --silent bootstrap -- up --stack $(STACK)

destroy: ## Destroy the stack (STACK=dev); nothing billable is left behind
	@STACK=$(STACK) node tools/bootstrap/preflight.mjs destroy
	@$(MAKE) --no-print-directory install
	@$(NPM) run --silent bootstrap -- destroy --stack $(STACK)

upload-do: install ## Sync deploy/ to the stack's Spaces bucket and trigger Flux
	@node tools/upload/run.cjs --stack $(STACK) $(ARGS)

render: install ## Render the stack offline (no credentials) into render/$(STACK)
	@$(NPM) run --silent render -- --stack $(STACK) --out render/$(STACK)

validate: install ## Build every kustomization in deploy/ and validate the objects
	@$(NPM) run --silent validate

test: install ## Run the full offline test suite
	@$(NPM) test

bench-sync: install ## Benchmark the bucket sync against aws s3 sync (needs awscli)
	@$(NPM) run --silent bench:sync
