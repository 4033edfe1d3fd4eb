#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the test control plane from the Go module
# proxy into a cache outside the clone, keyed by version, and prints the
# directory to use as KUBEBUILDER_ASSETS. A cached build is reused. Runs
# started together (make test and make demo) take turns on a lock and build
# into private temp names, so one never moves the other's half-built file.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretsync}"
dir="$cache/testbin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$(go env GOOS)-$(go env GOARCH)"
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9

build() { # name module-dir package
	local name=$1 mod=$2 pkg=$3
	if [[ -x "$dir/$name" ]]; then return; fi
	echo "testbin: building $name (cold build takes minutes)" >&2
	local tmp
	tmp="$(mktemp "$dir/.$name.XXXXXX")"
	if ! (cd "$here/testbin/$mod" && CGO_ENABLED=0 go build -trimpath -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		echo "testbin: building $name failed; see the go build output above" >&2
		exit 1
	fi
	mv "$tmp" "$dir/$name"
}

build etcd etcd .
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
echo "$dir"
