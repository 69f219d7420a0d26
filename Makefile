# The build of the serverless MLOps platform. `make help` lists the targets.
#
# The README's two commands: `make local` (the whole pipeline on the local
# cloud) and `make test` (every test). Both check their tools first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

FUNCTIONS := ingest prepare train deploy infer monitor remediate
# SAM logical id of each function: ingest -> IngestFunction.
logical = $(shell f=$(1); echo "$${f^}Function")

GO        ?= go
BUILD_DIR ?= .build
GOFLAGS_LAMBDA := -trimpath -tags lambda.norpc -ldflags='-s -w'
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
TOOLS_DIR := .tools
ASL_VALIDATOR := $(TOOLS_DIR)/node_modules/.bin/asl-validator
FUZZTIME ?= 3s

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

.PHONY: check-tools
check-tools: ## check (and install where possible) what the build and tests need
	@scripts/check-tools.sh

$(ASL_VALIDATOR):
	@mkdir -p $(TOOLS_DIR)
	@cd $(TOOLS_DIR) && npm install --no-save --no-audit --no-fund --loglevel=error asl-validator@4.0.0 >/dev/null \
	  || { echo "error: could not install asl-validator from the npm registry (needed to validate statemachines/*.asl.json)" >&2; exit 1; }

.PHONY: build
build: ## build every function as a static linux/arm64 bootstrap and print its size
	@for f in $(FUNCTIONS); do \
	  $(LAMBDA_ENV) $(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$$f/bootstrap ./functions/$$f; \
	done
	@printf '%-10s %10s\n' function bytes; for f in $(FUNCTIONS); do \
	  printf '%-10s %10s  (%s MiB)\n' $$f $$(stat -c %s $(BUILD_DIR)/$$f/bootstrap) \
	    $$(awk "BEGIN{printf \"%.1f\", $$(stat -c %s $(BUILD_DIR)/$$f/bootstrap)/1048576}"); done

# sam build calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
define sam_build_target
.PHONY: build-$(call logical,$(1))
build-$(call logical,$(1)):
	$(LAMBDA_ENV) $(GO) build $(GOFLAGS_LAMBDA) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(1)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call sam_build_target,$(f))))

.PHONY: test
test: check-tools $(ASL_VALIDATOR) ## run every test: vet, Go tests (race), cfn-lint, ASL validation, Glue script tests
	@echo "== go vet"; $(GO) vet ./...
	@echo "== gofmt"; unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@echo "== cfn-lint"; cfn-lint template.yaml
	@echo "== asl-validator"; for f in statemachines/*.asl.json; do $(ASL_VALIDATOR) --json-path "$$f" --silent || { echo "invalid state machine: $$f" >&2; exit 1; }; done
	@echo "== glue script tests"; python3 -m unittest discover -s scripts -p 'test_*.py'
	@echo "== go test"; MLOPS_REQUIRE_MOTO=1 MLOPS_REQUIRE_E2E=1 AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR $(GO) test -race -count=1 -timeout 12m ./...
	@echo "== fuzz (short)"; scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: ## build everything, measure sizes, cold starts, latency vs Python/Node peers, drift; write BENCHMARKS.md
	@scripts/bench.sh

.PHONY: guardrails
guardrails: ## template guardrails, with every suppression and its reason
	$(GO) test -count=1 -v -run 'TestRealTemplate$$' ./internal/guardrails/

.PHONY: bench-lambda start-api start-lambda up
bench-lambda: ## local Lambda latency: warm Runtime API vs in-process, cold start per function (median, p99)
	@scripts/bench-lambda.sh
start-api: ## serve the template's API locally without Docker (like sam local start-api)
	$(GO) run ./cmd/localcloud start-api
start-lambda: ## serve the Lambda Invoke API locally (like sam local start-lambda)
	$(GO) run ./cmd/localcloud start-lambda
up: check-tools ## keep the whole local cloud running for interactive use (prints the endpoint and API URLs)
	$(GO) run ./cmd/localcloud up

.PHONY: chaos
chaos: check-tools ## run the fault-injection scenarios (duplicates, throttling, crashes, rollbacks) and print the report
	@scripts/chaos.sh

.PHONY: fuzz
fuzz: ## fuzz every parser of outside input for longer (FUZZTIME=2m by default here)
	@scripts/fuzz.sh $${FUZZTIME:-2m}

.PHONY: lint
lint: $(ASL_VALIDATOR) ## gofmt, go vet, cfn-lint and ASL validation without running tests
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cfn-lint template.yaml
	@for f in statemachines/*.asl.json; do $(ASL_VALIDATOR) --json-path "$$f" --silent; done

# invoke-<function> EVENT=events/<file>.json: runs one handler with a sample
# event, with `sam local invoke` where a Docker engine runs, else on the local cloud.
.PHONY: invoke-%
invoke-%: ## invoke a function with an event: make invoke-ingest EVENT=events/ingest-object-created.json
	@test -n "$(EVENT)" || { echo "usage: make invoke-<function> EVENT=events/<file>.json" >&2; exit 2; }
	@if command -v sam >/dev/null && docker info >/dev/null 2>&1; then \
	  sam local invoke $(call logical,$*) -e $(EVENT); \
	else \
	  $(GO) run ./cmd/localcloud invoke --stack-name mlops-dev $(call logical,$*) -e $(EVENT); \
	fi

.PHONY: local
local: check-tools ## run the whole pipeline on the local cloud and show what happens
	@scripts/local.sh

ENV ?= dev
.PHONY: deploy
deploy: ## build and deploy to AWS (ENV=dev|prod), then upload the Glue script
	sam build && sam deploy --config-env $(ENV) && $(MAKE) upload-glue-script ENV=$(ENV)

.PHONY: upload-glue-script
upload-glue-script: ## copy scripts/prepare.py to the artifacts bucket of ENV
	aws s3 cp scripts/prepare.py "s3://mlops-artifacts-$(ENV)-$$(aws sts get-caller-identity --query Account --output text)/scripts/prepare.py"

.PHONY: clean
clean: ## remove build outputs
	rm -rf $(BUILD_DIR) .aws-sam benchmarks/testdata/variants benchmarks/peers/node/node_modules benchmarks/results/lambda.log
