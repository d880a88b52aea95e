# Thin entry points; the logic lives in TypeScript under tools/.
STACK ?= dev
NPM   ?= npm

# The project runs on Node.js >= 22 (pinned LTS in components/versions.ts). Where the machine's
# own node is older, tools/node/ensure-node.sh installs the pinned one from the npm registry
# into a cache folder outside the repository and every target runs with it first on PATH.
NODE_BIN := $(shell tools/node/ensure-node.sh || echo ENSURE_NODE_FAILED)
ifeq ($(NODE_BIN),ENSURE_NODE_FAILED)
$(error could not provide Node.js >= 22; see the message above)
endif
ifneq ($(NODE_BIN),)
export PATH := $(NODE_BIN):$(PATH)
endif

.PHONY: help install bootstrap destroy upload-do render validate seal test e2e lint format bench-sync mutation

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

node_modules: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch node_modules

install: node_modules ## Install dependencies from the lockfile

# The TypeScript entry points run as `node --import tsx FILE` (what the package.json scripts run
# through npm and tsx's CLI, without those two extra Node.js processes: about 0.5 s of CPU less
# per target, which test/bootstrap.test.ts pays for each of its `make` runs).
TSX = node --import tsx
# bootstrap, destroy and validate run from an esbuild bundle of their TypeScript, rebuilt when a source is
# newer (tools/lib/run-bundled.cjs): no TypeScript compiled at start (0.07 s of CPU, not 0.38 s).
BUNDLED = node tools/lib/run-bundled.cjs

# YES=1 (or CI=true): apply without asking. Otherwise bootstrap/destroy show the preview and ask
# on a terminal, and refuse when there is no terminal to ask on.
YES_FLAG = $(if $(filter 1 true yes,$(YES)),--yes)

bootstrap: install ## Check prerequisites, preview and (after asking; YES=1 skips) pulumi up STACK=dev, write kubeconfig.yaml
	@$(BUNDLED) tools/bootstrap/main.ts up --stack $(STACK) $(YES_FLAG)

# CLUSTER_GONE=1: the DOKS cluster is gone (or its API server never answers) even if DigitalOcean
# still lists it; the destroy then drops the objects that lived in it from the state.
destroy: install ## Refresh and destroy STACK=dev (asks first; YES=1 skips; CLUSTER_GONE=1 see README)
	@$(BUNDLED) tools/bootstrap/main.ts destroy --stack $(STACK) $(YES_FLAG) $(if $(filter 1 true yes,$(CLUSTER_GONE)),--cluster-gone)

upload-do: install ## Sync deploy/ to the stack's Spaces bucket and trigger Flux
	@node tools/upload/run.cjs --stack $(STACK) $(ARGS)

render: install ## Render the stack offline (no credentials) into render/$(STACK)
	@$(TSX) tools/render/main.ts --stack $(STACK) --out render/$(STACK)

validate: install ## Build every kustomization in deploy/ and validate the objects
	@$(BUNDLED) tools/validate/main.ts

# sops is a prerequisite of this target only: tools/sops/ensure-sops.sh builds the pinned release
# once with Go (SOPS=/path/to/sops uses a binary of that version instead).
seal: install ## Encrypt a Secret manifest in place for STACK's age key: make seal FILE=deploy/…/secret.yaml
	@$(TSX) tools/sops/main.ts --stack $(STACK) --file "$(FILE)"

test: install ## Lint, type-check and run the full offline test suite (npm test runs the same)
	@$(TSX) tools/test/run.mts $(ARGS)

e2e: install ## End-to-end on a local API server (builds its programs with Go once; see README)
	@$(NPM) run --silent e2e -- $(ARGS)

lint: install ## Biome (format + lint) and the Pulumi ESLint rules
	@$(NPM) run --silent lint

format: install ## Apply the formatter and safe lint fixes
	@$(NPM) run --silent format

# Not part of `make test`: minutes per group on one core. GROUP=name[,name] picks groups
# (`npm run mutation -- --list`); reports go to reports/mutation/ (git-ignored).
mutation: install ## Mutation testing (StrykerJS) of the groups in tools/mutation/groups.ts; GROUP=… picks some
	@$(NPM) run --silent mutation -- $(if $(GROUP),--group $(GROUP)) $(ARGS)

bench-sync: install ## Benchmark make upload-do against aws s3 sync, rclone and s3cmd (Debian: apt-get install -y awscli rclone s3cmd time)
	@$(NPM) run --silent bench:sync
