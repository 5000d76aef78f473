# botfleet: every CI step is a target here. `make` alone lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BOT      ?= hello
BOTS     := $(patsubst bots/%/go.mod,%,$(wildcard bots/*/go.mod))
MODULES  := pkg tools $(addprefix bots/,$(BOTS))
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/botfleet/botfleet/pkg/botkit/botmain.Version=$(VERSION)
# A count, not a duration: a duration -fuzztime races Go 1.26's fuzz coordinator
# (golang/go#75804) and fails with "context deadline exceeded" on a busy machine.
FUZZTIME ?= 20000x
# The module proxy only: a module it refuses fails at once instead of trying git.
export GOPROXY := $(shell go env GOPROXY | cut -d, -f1)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run a bot (BOT=hello); without Slack tokens it reads commands from the terminal; ecs against a fake AWS unless AWS=real
	@test -f bots/$(BOT)/go.mod || { echo "no bot '$(BOT)'; the bots are: $(BOTS)"; exit 2; }
	@if [ -d bots/$(BOT)/internal/cmd/localrepo ]; then cd bots/$(BOT) && go run ./internal/cmd/localrepo; fi
	@cd bots/$(BOT) && $(if $(filter real,$(AWS)),,$(if $(wildcard bots/$(BOT)/internal/cmd/fakeaws),go run ./internal/cmd/fakeaws -- ))go run -ldflags "-X github.com/botfleet/botfleet/pkg/botkit/botmain.Version=$(VERSION)" .

.PHONY: bot
bot: ## Create a new bot from the templates (NAME=x; FORCE=1 rewrites their files), then print the next steps
	@test -n "$(NAME)" || { echo "make bot: NAME is empty; e.g. make bot NAME=deploy-bot (a lowercase letter, then lowercase letters, digits and dashes)"; exit 2; }
	go run ./tools/cmd/botctl new $(if $(FORCE),--force )$(NAME)

.PHONY: build
build: ## Build every bot to bin/<bot>, alone (GOWORK=off) as its image does
	@mkdir -p bin
	@for b in $(BOTS); do \
		echo "build bin/$$b"; \
		(cd bots/$$b && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o ../../bin/$$b .); \
	done

.PHONY: test
test: tidy-check lint validate ## Run every check and test (what CI runs)
	go test -race -count=1 ./pkg/... ./tools/... $(addsuffix /...,$(addprefix ./bots/,$(BOTS)))
	$(MAKE) --no-print-directory fuzz

.PHONY: fuzz
fuzz: ## Run each fuzz target briefly (FUZZTIME=20000x executions)
	go test -run='^$$' -fuzz='^FuzzParsePattern$$' -fuzztime=$(FUZZTIME) ./pkg/botkit
	go test -run='^$$' -fuzz='^FuzzMatch$$' -fuzztime=$(FUZZTIME) ./pkg/botkit
	go test -run='^$$' -fuzz='^FuzzParser$$' -fuzztime=$(FUZZTIME) ./bots/ansible/internal/playbook
	go test -run='^$$' -fuzz='^FuzzCheckBranch$$' -fuzztime=$(FUZZTIME) ./bots/ansible/internal/gitx

.PHONY: lint
# actionlint (a tool of tools/go.mod) also runs shellcheck on run: scripts where it is installed.
lint: ## gofmt, go vet, actionlint, and the SHA pins of the workflows' actions
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./pkg/... ./tools/... $(addsuffix /...,$(addprefix ./bots/,$(BOTS)))
	go tool actionlint .github/workflows/*.yml
	go test -count=1 -run='^TestRepoWorkflowsPinned$$' ./tools/internal/workflows

# Its own version, run with go run: as a tool of the tools module it would move
# x/sys and x/text for every bot. Bumped by hand (Dependabot does not read it).
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0

.PHONY: vulncheck
vulncheck: ## govulncheck every module, built alone (GOWORK=off) as its image is; needs vuln.go.dev
	@failed=""; for m in $(MODULES); do \
		echo "govulncheck $$m"; \
		(cd $$m && GOWORK=off go run $(GOVULNCHECK) ./...) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "vulncheck: reachable vulnerabilities (or a failure) in:$$failed"; exit 1; fi

.PHONY: bench
bench: ## Run the benchmarks (figures in README.md)
	go test -run='^$$' -bench=. -benchmem ./pkg/... ./tools/... $(addsuffix /...,$(addprefix ./bots/,$(BOTS)))

.PHONY: tools
tools: ## Build bin/botctl
	@mkdir -p bin
	cd tools && go build -trimpath -o ../bin/botctl ./cmd/botctl

.PHONY: validate
validate: ## Check every bot's overlays, Dockerfile and manifests/ (botctl validate)
	go run ./tools/cmd/botctl validate

.PHONY: image-test
image-test: ## Build every bot's image offline with buildah on local stand-in bases, run its -version
	VERSION=$(VERSION) .ci/image-test

.PHONY: render
render: ## Print a bot's built overlay (BOT=hello ENV=dev)
	go run ./tools/cmd/botctl render $(BOT) --env $(or $(ENV),dev)

.PHONY: changed
changed: ## List the bots whose images changed since BASE (default origin/main), as JSON
	go run ./tools/cmd/botctl changed --base $(or $(BASE),origin/main)

.PHONY: schemas
schemas: ## Regenerate botctl's embedded Kubernetes and Argo CD schemas
	go generate ./tools/internal/kubeschema

.PHONY: tidy-check
tidy-check: ## Fail when go mod tidy (any module) or go work sync would change a file
	@for m in $(MODULES); do \
		(cd $$m && go mod tidy -diff >/dev/null) || { echo "tidy-check: go mod tidy would change $$m/go.mod or go.sum; run 'make tidy'"; exit 1; }; \
	done
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for m in $(MODULES); do mkdir -p "$$tmp/$$m"; cp $$m/go.mod $$m/go.sum "$$tmp/$$m/" 2>/dev/null || true; done; \
	go work sync; \
	for m in $(MODULES); do \
		if ! cmp -s $$m/go.mod "$$tmp/$$m/go.mod" || { [ -f $$m/go.sum ] && ! cmp -s $$m/go.sum "$$tmp/$$m/go.sum"; }; then \
			for n in $(MODULES); do cp "$$tmp/$$n/go.mod" $$n/go.mod; [ -f "$$tmp/$$n/go.sum" ] && cp "$$tmp/$$n/go.sum" $$n/go.sum; done; \
			echo "tidy-check: go work sync would change $$m; run 'make tidy'"; exit 1; \
		fi; \
	done

.PHONY: tidy
tidy: ## go work sync, then go mod tidy in every module
	go work sync
	@for m in $(MODULES); do (cd $$m && go mod tidy); done
