# secretsync: `make test` and `make demo` need nothing installed beyond Go
# and git; the control plane comes from KUBEBUILDER_ASSETS, envtest's
# released archive or a build from the Go module proxy on first use, and is
# cached outside the clone (hack/testbin.sh says which).

GO      ?= go
BIN     := bin/secretsync
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# RELEASE is the version a release is cut as: VERSION (the file), which the
# chart and the manifests' image tag follow (internal/installtest checks).
RELEASE   := v$(shell cat VERSION)
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST      ?= dist

.PHONY: all build test testbin demo bench bench-large vet fmt-check clean fuzz release image

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
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) test -count=1 -timeout 30m ./...

demo: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/demo -secretsync $(BIN) -example examples/basic $(if $(KEEP),-keep)

clean:
	rm -rf bin $(DIST)

# `make release`: static binaries for each of PLATFORMS, stamped with
# RELEASE, and their SHA-256 sums, for the GitHub release of tag RELEASE.
# CI jobs download one binary and check it against checksums.txt.
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=$(DIST)/secretsync-$(RELEASE)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w -X main.version=$(RELEASE)" -o $$out ./cmd/secretsync; \
	done
	cd $(DIST) && sha256sum secretsync-* > checksums.txt

# `make image`: the container image of RELEASE (needs a Docker engine).
image:
	docker build --build-arg VERSION=$(RELEASE) -t ghcr.io/secretsync/secretsync:$(RELEASE) .

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

# `make bench-large`: the same scenario at 50,000 ExternalSecrets (about
# 10 minutes), apart from make bench to keep that one short.
bench-large: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/bench -sizes 50000 -secretsync $(BIN)
