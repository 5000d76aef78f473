# botfleet: every CI step is a target here. `make` alone lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BOT      ?= hello
BOTS     := $(patsubst bots/%/go.mod,%,$(wildcard bots/*/go.mod))
MODULES  := pkg tools bench $(addprefix bots/,$(BOTS))
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/botfleet/botfleet/pkg/botkit/botmain.Version=$(VERSION)
# A count, not a duration: a duration -fuzztime races Go 1.26's fuzz coordinator
# (golang/go#75804) and fails with "context deadline exceeded" on a busy machine.
FUZZTIME ?= 20000x
# The module proxy only: a module it refuses fails at once instead of trying git.
export GOPROXY := $(shell go env GOPROXY | cut -d, -f1)
# A binary built with -race sleeps a second when it exits, for late race
# reports: every test binary, and every bot process a bot's end-to-end tests
# start, would. Not here.
export GORACE ?= atexit_sleep_ms=0
# botctl, built by the targets that run it; BOTCTL=path runs another build.
BOTCTL   ?= bin/botctl
# What make test runs besides Go, as COMMAND=DEBIAN_PACKAGE: .ci/need installs
# what is missing where it may (root, or CI with sudo), else names the command.
TEST_NEEDS := git ansible-playbook=ansible-core promtool=prometheus shellcheck prometheus-alertmanager=prometheus-alertmanager
# The fuzz targets, as MODULE:PACKAGE:FUNC.
FUZZ_TARGETS := pkg:./pkg/botkit:FuzzParsePattern pkg:./pkg/botkit:FuzzMatch \
	bots/ansible:./bots/ansible/internal/playbook:FuzzParser bots/ansible:./bots/ansible/internal/gitx:FuzzCheckBranch \
	pkg:./pkg/config:FuzzLoad pkg:./pkg/config:FuzzConvert pkg:./pkg/botkit:FuzzAccessSeesWhatHandlerActsOn
# make fuzz runs the targets of these modules.
FUZZ_MODULES ?= $(MODULES)

.PHONY: help
help: ## List the targets
	@if [ -t 1 ]; then c=$$'\033[36m' r=$$'\033[0m'; else c= r=; fi; \
	awk -v c="$$c" -v r="$$r" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-13s%s %s\n", c, $$1, r, $$2}' $(MAKEFILE_LIST)

# bin/botctl is rebuilt on every use: go build's cache makes that a second
# unless its sources changed. The first build compiles kustomize and the
# Kubernetes API, and takes a while: say so.
.PHONY: bin/botctl
bin/botctl:
	@test -x $@ || echo "building $@ (the first time takes a minute or more)" >&2
	@go build -ldflags "-X main.version=$(VERSION)" -o $@ ./tools/cmd/botctl

.PHONY: run
run: ## Run a bot (BOT=hello); without Slack tokens it reads commands from the terminal; ecs against a fake AWS unless AWS=real; state in .local/<bot>/state unless BOT_STATE_DIR
	@test -f bots/$(BOT)/go.mod || { echo "no bot '$(BOT)'; the bots are: $(BOTS)"; exit 2; }
	@echo "make run: compiling bots/$(BOT) (the first time takes a minute or more)" >&2
	@if [ -d bots/$(BOT)/internal/cmd/localrepo ]; then cd bots/$(BOT) && go run ./internal/cmd/localrepo; fi
	@mkdir -p $(or $(BOT_STATE_DIR),$(CURDIR)/.local/$(BOT)/state)
	@cd bots/$(BOT) && BOT_STATE_DIR=$(or $(BOT_STATE_DIR),$(CURDIR)/.local/$(BOT)/state) $(if $(filter real,$(AWS)),,$(if $(wildcard bots/$(BOT)/internal/cmd/fakeaws),go run ./internal/cmd/fakeaws -- ))go run -ldflags "-X github.com/botfleet/botfleet/pkg/botkit/botmain.Version=$(VERSION)" .

# make bot stops with botctl's one-line message as make's own error, not a
# recipe failure that make would follow with "make: *** [...] Error 2":
# botctl's output streams to the terminal (stderr), its error is captured.
ifneq ($(filter bot,$(MAKECMDGOALS)),)
ifeq ($(NAME),)
$(error make bot: NAME is empty; e.g. make bot NAME=deploy-bot (a lowercase letter, then lowercase letters, digits and dashes))
endif
endif
# (make -n only prints the command.)
dry_run := $(findstring n,$(firstword -$(MAKEFLAGS)))
.PHONY: bot
bot: $(BOTCTL) ## Create a new bot from the templates (NAME=x; FORCE=1 rewrites their files), then print the next steps
ifeq ($(dry_run),)
	$(eval bot_err := $(shell $(BOTCTL) --make-target new $(if $(FORCE),--force) -- '$(NAME)' 3>&2 2>&1 1>&3))
	$(if $(filter-out 0,$(.SHELLSTATUS)),$(error $(or $(filter-out botctl:,$(bot_err)),botctl new failed)))
else
	$(BOTCTL) --make-target new $(if $(FORCE),--force) -- '$(NAME)'
endif

.PHONY: build
build: ## Build every bot to bin/<bot>, alone (GOWORK=off) as its image does
	@mkdir -p bin
	@for b in $(BOTS); do \
		echo "build bin/$$b"; \
		(cd bots/$$b && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o ../../bin/$$b .); \
	done

.PHONY: prereqs
prereqs: ## Check for the programs make test runs besides Go; install them where it may
	@.ci/need $(TEST_NEEDS)

.PHONY: test
test: prereqs tidy-check lint validate ## Run every check and every module's tests (main, nightly)
	go test -race -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))
	$(MAKE) --no-print-directory fuzz

.PHONY: test-changed
test-changed: prereqs tidy-check lint validate $(BOTCTL) ## Every check, and the tests of the modules a change since BASE can affect (pull requests)
	@mods=$$($(BOTCTL) affected --base '$(or $(BASE),origin/main)' --format lines --explain); \
	if [ -z "$$mods" ]; then echo "test-changed: no module's tests can be affected since $(or $(BASE),origin/main)"; exit 0; fi; \
	echo go test -race -count=1 $$(printf './%s/... ' $$mods); \
	go test -race -count=1 $$(printf './%s/... ' $$mods); \
	$(MAKE) --no-print-directory fuzz FUZZ_MODULES="$$(echo $$mods)"

.PHONY: fuzz
fuzz: ## Run each fuzz target briefly (FUZZTIME=20000x executions)
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r mod pkg fn <<<"$$t"; \
		case " $(FUZZ_MODULES) " in *" $$mod "*) ;; *) continue ;; esac; \
		echo "go test -run='^\$$' -fuzz='^$$fn\$$' -fuzztime=$(FUZZTIME) $$pkg"; \
		go test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
	done

.PHONY: lint
# actionlint (a tool of tools/go.mod) runs shellcheck on run: scripts, and
# silently skips them when shellcheck is missing: so lint requires it.
lint: $(BOTCTL) ## gofmt, go vet, actionlint with shellcheck, the workflows' SHA pins, and no binary, large file or secret in git
	@.ci/need shellcheck
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./pkg/... ./tools/... ./bench/... $(addsuffix /...,$(addprefix ./bots/,$(BOTS)))
	go vet -tags=bench ./bench/...
	go tool actionlint .github/workflows/*.yml
	go test -count=1 -run='^TestRepoWorkflowsPinned$$' ./tools/internal/workflows
	$(BOTCTL) check-files

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

# The benchmarks, and the tests that build and run whole bots to measure
# them (-tags=bench: fleetbench's TestBurst), which make test leaves out.
.PHONY: bench
bench: ## Run the benchmarks, and the tests of their harness (figures in README.md)
	go test -tags=bench -run='^TestBurst$$' -bench=. -benchmem $(addprefix ./,$(addsuffix /...,$(MODULES)))

.PHONY: tools
tools: $(BOTCTL) ## Build bin/botctl

.PHONY: validate
validate: $(BOTCTL) ## Check every bot's overlays, Dockerfile and manifests/ (botctl validate)
	$(BOTCTL) validate

.PHONY: image-test
image-test: ## Build every bot's image with buildah on local stand-in bases and run it (ansible's: git and a playbook over SSH as 65532)
	VERSION=$(VERSION) .ci/image-test

.PHONY: render
render: $(BOTCTL) ## Print a bot's built overlay (BOT=hello ENV=dev)
	@$(BOTCTL) render $(BOT) --env $(or $(ENV),dev)

.PHONY: changed
changed: $(BOTCTL) ## List the bots whose images changed since BASE (default origin/main), as JSON
	@$(BOTCTL) changed --base $(or $(BASE),origin/main)

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
