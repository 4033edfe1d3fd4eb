#!/usr/bin/env bash
# Prints a directory holding kube-apiserver and etcd for the test control
# plane, for KUBEBUILDER_ASSETS, and says on stderr which source it took and
# why, trying in turn:
#   1. KUBEBUILDER_ASSETS, when both binaries there run (--version);
#   2. the cache outside the clone (a build, else an envtest archive);
#   3. envtest's released archive of ENVTEST_VERSION (the binaries
#      controller-runtime's setup-envtest installs; the newest 1.37 release
#      controller-tools lists, a patch behind K8S_VERSION), when its SHA-512
#      is pinned in hack/testbin/envtest.sha512 and it downloads within
#      ENVTEST_TIMEOUT; a wrong checksum is never used;
#   4. a build from the Go module proxy (minutes), as offline machines do.
# Runs started together (make test and make demo) take turns on a lock and
# write into private temp names, so one never moves the other's half-made file.
#
# For its tests: SECRETSYNC_ENVTEST_URL replaces the archives' base URL,
# SECRETSYNC_ENVTEST_SUMS the pinned sums file, and SECRETSYNC_TESTBIN_GO the
# go command that builds.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
ENVTEST_VERSION=v1.37.0
ENVTEST_URL="${SECRETSYNC_ENVTEST_URL:-https://github.com/kubernetes-sigs/controller-tools/releases/download}"
ENVTEST_TIMEOUT="${SECRETSYNC_ENVTEST_TIMEOUT:-120}"
here="$(cd "$(dirname "$0")" && pwd)"
sums="${SECRETSYNC_ENVTEST_SUMS:-$here/testbin/envtest.sha512}"
gocmd="${SECRETSYNC_TESTBIN_GO:-go}"
say() { echo "testbin: $*" >&2; }

# works DIR: both binaries in DIR run.
works() {
	local d=$1 b
	for b in kube-apiserver etcd; do
		[[ -x "$d/$b" ]] && timeout 60 "$d/$b" --version > /dev/null 2>&1 || return 1
	done
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
	if works "$KUBEBUILDER_ASSETS"; then
		say "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS (kube-apiserver and etcd there run)"
		echo "$KUBEBUILDER_ASSETS"
		exit 0
	fi
	say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no kube-apiserver and etcd that run; ignoring it"
fi

os="$(go env GOOS)"
arch="$(go env GOARCH)"
cache="${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretsync}"
dir="$cache/testbin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$os-$arch"
envtest="$cache/testbin/envtest-$ENVTEST_VERSION-$os-$arch"
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9

if [[ -x "$dir/etcd" && -x "$dir/kube-apiserver" ]]; then
	say "using the cached build in $dir"
	echo "$dir"
	exit 0
fi
if [[ -x "$envtest/etcd" && -x "$envtest/kube-apiserver" ]]; then
	say "using the cached envtest archive in $envtest"
	echo "$envtest"
	exit 0
fi

# fetch: envtest's archive into $envtest, or a reason on stderr and 1.
fetch() {
	local name="envtest-$ENVTEST_VERSION-$os-$arch.tar.gz" want tmp
	want="$(awk -v n="$name" '$2 == n { print $1 }' "$sums" 2>/dev/null || true)"
	if [[ -z "$want" ]]; then
		say "no SHA-512 pinned for $name in $sums"
		return 1
	fi
	tmp="$(mktemp -d "$cache/testbin/.envtest.XXXXXX")"
	if unpack "$name" "$want" "$tmp"; then
		rm -rf "$envtest"
		mv "$tmp/x/controller-tools/envtest" "$envtest"
		rm -rf "$tmp"
		return 0
	fi
	rm -rf "$tmp"
	return 1
}

# unpack NAME SHA512 TMP: downloads and checks the archive, and unpacks it
# into TMP/x, which then holds controller-tools/envtest/{etcd,kube-apiserver,kubectl}.
unpack() {
	local name=$1 want=$2 tmp=$3
	say "downloading $ENVTEST_URL/envtest-$ENVTEST_VERSION/$name (at most ${ENVTEST_TIMEOUT}s)"
	if ! curl -fsSL --connect-timeout 5 --max-time "$ENVTEST_TIMEOUT" -o "$tmp/$name" "$ENVTEST_URL/envtest-$ENVTEST_VERSION/$name"; then
		say "could not download $name"
		return 1
	fi
	if ! (cd "$tmp" && echo "$want  $name" | sha512sum -c --quiet - > /dev/null 2>&1); then
		say "$name does not match its pinned SHA-512; not using it"
		return 1
	fi
	mkdir "$tmp/x"
	if ! tar -xzf "$tmp/$name" -C "$tmp/x" || ! works "$tmp/x/controller-tools/envtest"; then
		say "$name holds no kube-apiserver and etcd that run"
		return 1
	fi
}

if fetch; then
	say "using envtest's archive of $ENVTEST_VERSION, checksum verified, in $envtest"
	echo "$envtest"
	exit 0
fi
say "building from source instead (cold build takes minutes)"

build() { # name module-dir package
	local name=$1 mod=$2 pkg=$3
	if [[ -x "$dir/$name" ]]; then return; fi
	say "building $name"
	local tmp
	tmp="$(mktemp "$dir/.$name.XXXXXX")"
	if ! (cd "$here/testbin/$mod" && CGO_ENABLED=0 "$gocmd" build -trimpath -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		say "building $name failed; see the go build output above"
		exit 1
	fi
	mv "$tmp" "$dir/$name"
}

build etcd etcd .
build kube-apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
say "using the build in $dir"
echo "$dir"
