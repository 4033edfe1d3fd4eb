# secretsync: `make test` and `make demo` need nothing installed beyond Go
# and git; the control plane is built from the Go module proxy on first use
# and cached outside the clone (hack/testbin.sh).

GO      ?= go
BIN     := bin/secretsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test testbin demo bench vet fmt-check clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/secretsync

testbin:
	@bash hack/testbin.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: fmt-check vet
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) test -count=1 ./...

demo: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/demo -secretsync $(BIN) -example examples/basic $(if $(KEEP),-keep)

clean:
	rm -rf bin

# Each fuzz target runs for FUZZTIME (default 30s); `make test` runs only
# their seed corpora. A crash is saved under the package's testdata/fuzz/.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./render:FuzzFolderRender ./render:FuzzKustomizationRender ./render:FuzzTemplateExecute \
	./providers:FuzzProperty ./cmd/secretsync:FuzzWebhook

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

bench: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/bench -sizes 1000,10000 -secretsync $(BIN)
