# Multi-stage build: a static binary in a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version stamped into the binary: the build argument (make image sets
# it), else the release in VERSION, so an image never reports "dev".
ARG VERSION=
RUN v="${VERSION:-v$(cat VERSION)}" && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${v}" -o /out/secretsync ./cmd/secretsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/secretsync /secretsync
USER 65532:65532
ENTRYPOINT ["/secretsync"]
CMD ["run"]
