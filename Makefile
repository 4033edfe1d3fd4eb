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

.PHONY: all build test testbin demo bench bench-large vet fmt-check clean fuzz release image vuln

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
# RELEASE, a CycloneDX SBOM of each (read from the binary's build info), and
# the SHA-256 sums of all of them, for the GitHub release of tag RELEASE.
# CI jobs download one binary and check it against checksums.txt; the
# release workflow (examples/release) signs checksums.txt with cosign.
# The tools come at a pinned version (`go install`/`go run` module@version),
# outside go.mod. The SBOM tool runs with the binary's GOOS and GOARCH,
# which it records, so it is installed into bin/tools rather than run.
CYCLONEDX   := github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB      ?= https://vuln.go.dev
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	GOBIN="$(abspath bin/tools)" $(GO) install $(CYCLONEDX)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=$(DIST)/secretsync-$(RELEASE)-$$os-$$arch; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w -X main.version=$(RELEASE)" -o $$out ./cmd/secretsync; \
		echo "sbom $$out.cdx.json"; \
		GOOS=$$os GOARCH=$$arch bin/tools/cyclonedx-gomod bin -json -std -version $(RELEASE) -output $$out.cdx.json $$out; \
	done
	cd $(DIST) && sha256sum secretsync-* > checksums.txt

# `make vuln`: govulncheck over the module's code, against VULNDB. It says
# so and fails when the database cannot be reached (nothing was checked).
vuln:
	@if ! curl -fsS --max-time 15 -o /dev/null "$(VULNDB)/index/db.json"; then \
		echo "make vuln: the Go vulnerability database $(VULNDB) cannot be reached from here: nothing was checked" >&2; exit 1; \
	fi
	$(GO) run $(GOVULNCHECK) -db $(VULNDB) ./...

# `make image`: the container image of RELEASE (needs a Docker engine).
image:
	docker build --build-arg VERSION=$(RELEASE) -t ghcr.io/secretsync/secretsync:$(RELEASE) .

# Each fuzz target runs for FUZZTIME (default 30s); `make test` runs only
# their seed corpora. A crash is saved under the package's testdata/fuzz/.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./render:FuzzFolderRender ./render:FuzzKustomizationRender ./render:FuzzTemplateExecute \
	./providers:FuzzProperty ./service:FuzzWebhook

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# `make bench` records its figures in docs/bench-figures.json, the one
# source of the figures the docs quote (docs/performance.md).
bench: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/bench -sizes 1000,10000 -secretsync $(BIN) -figures docs/bench-figures.json -name bench

# `make bench-large`: the same scenario at 50,000 ExternalSecrets, apart
# from make bench to keep that one short; its figures go to the same file.
bench-large: build
	assets="$$(bash hack/testbin.sh)" && KUBEBUILDER_ASSETS="$$assets" $(GO) run ./hack/bench -sizes 50000 -secretsync $(BIN) -figures docs/bench-figures.json -name bench-large
