# The chat server's build. `make run` and `make test` are the two commands a
# newcomer needs; everything else is for contributors.
#
# The load tool lives in bench/, a Go module of its own (the product never
# needs it), which the main module's ./... patterns do not reach: the targets
# that cover it (vet, test, chatbench, bench, bench-dos) run the go command in
# bench/.

GO        ?= go
ADDR      ?= :8000
USER      ?= $(shell whoami)
ACTOR_DIR  = $(shell $(GO) list -m -f '{{.Dir}}' github.com/asynkron/protoactor-go)/actor
PROTOC    ?= protoc

.PHONY: run client test vet lint layering proto proto-check fuzz bench bench-dm bench-scaling bench-dos build chatbench clean
.PHONY: cluster test-cluster
.PHONY: screenshots

## run: start the server on $(ADDR) (data in ./data); Ctrl-C stops it gracefully
run:
	@$(GO) build -o bin/chatd ./cmd/chatd
	@trap 'exit 0' INT TERM; ./bin/chatd -addr $(ADDR)

## cluster: etcd, PostgreSQL and three chatd nodes on :8001-:8003 (data in
## ./data/cluster); installs etcd-server and postgresql when missing; Ctrl-C stops all
cluster:
	@$(GO) build -o bin/chatd ./cmd/chatd
	@$(GO) build -o bin/chat ./cmd/chat
	@./scripts/cluster.sh

## client: open the CLI client as USER (make client USER=alice)
client:
	@$(GO) build -o bin/chat ./cmd/chat
	@trap 'exit 0' INT TERM; ./bin/chat -user $(USER)

## build: the product's binaries (chatd, chat) in bin/
build:
	$(GO) build -o bin/ ./cmd/...

## chatbench: the load tool in bin/, built from its module in bench/
chatbench:
	cd bench && $(GO) build -o ../bin/chatbench ./cmd/chatbench

## test: lint, vet, layering and generated-code checks, then every test of
## both modules (the server's and bench/) with the race detector
test: lint vet layering proto-check
	$(GO) test -race -count=1 -timeout 10m ./...
	cd bench && $(GO) test -race -count=1 -timeout 10m ./...

## test-cluster: the cluster's end-to-end tests (internal/clustertest):
## throwaway etcd and PostgreSQL, three chatd processes; a few minutes
test-cluster:
	CHAT_CLUSTER_TESTS=1 $(GO) test -count=1 -timeout 15m -v ./internal/clustertest/

## lint: golangci-lint (.golangci.yml), pinned in tools/go.mod rather than
## go.mod so that its dependencies cannot raise the versions the server
## builds with; `go tool` builds it from the module cache on first use
lint:
	$(GO) tool -modfile=tools/go.mod golangci-lint run ./...
	cd bench && $(GO) tool -modfile=../tools/go.mod golangci-lint run --config ../.golangci.yml ./...

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

## layering: dependencies point inward (see README, "Architecture")
layering:
	$(GO) test -count=1 ./internal/layering

## proto: regenerate proto/chatpb from proto/chat.proto (needs protoc: apt-get install protobuf-compiler)
proto:
	PATH="$$($(GO) env GOBIN):$$PATH" $(PROTOC) -I proto -I $(ACTOR_DIR) \
		--plugin=protoc-gen-go="$$($(GO) tool -n protoc-gen-go)" \
		--go_out=. --go_opt=module=github.com/actorchat/chat proto/chat.proto

## proto-check: fail if the committed generated code is not what `make proto` makes
proto-check:
	@tmp=$$(mktemp -d) && \
	$(PROTOC) -I proto -I $(ACTOR_DIR) --plugin=protoc-gen-go="$$($(GO) tool -n protoc-gen-go)" \
		--go_out=$$tmp --go_opt=module=github.com/actorchat/chat proto/chat.proto && \
	diff -u proto/chatpb/chat.pb.go $$tmp/proto/chatpb/chat.pb.go && rm -rf $$tmp && \
	echo "proto-check: generated code is up to date"

## bench: the load tool against a fresh chatd and gorilla's chat hub; one table (a few minutes)
bench:
	./scripts/bench.sh

## bench-dm: private messages against their targets, memory and bolt stores (~3 min)
bench-dm:
	./scripts/bench-dm.sh

## bench-scaling: deliveries/s and memory for N = 10 .. 15,000 clients (longer)
bench-scaling:
	./scripts/bench-scaling.sh

## bench-dos: hostile inputs (bench/cmd/chatdos) against fresh
## chatd servers, three runs each; memory, CPU and what the server did (~10 min)
bench-dos:
	./scripts/bench-dos.sh

clean:
	rm -rf bin

## screenshots: the web client's browser tests (need Chromium: apt-get install
## chromium), each saving its final screen in web/testdata/screenshots/
screenshots:
	CHAT_REQUIRE_BROWSER=1 $(GO) test -count=1 -run '^TestBrowser' ./web/
	@echo "screenshots: $$(ls web/testdata/screenshots/*.png | wc -l) in web/testdata/screenshots/"

FUZZTIME ?= 30s
## fuzz: run every fuzz target of the module for FUZZTIME each, a duration
## or a count of inputs like 10000x (CI runs a short pass by count)
fuzz:
	@for p in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			echo "fuzz $$p $$t ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
		done; \
	done
