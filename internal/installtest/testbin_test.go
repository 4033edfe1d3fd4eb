package installtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// testbinRun is one run of hack/testbin.sh: what it printed on stdout (the
// assets folder) and stderr (why), and the go builds it made.
type testbinRun struct {
	dir, why string
	builds   []string
}

// runTestbin runs hack/testbin.sh with its cache in cache, env added, and a
// stand-in go command whose builds write a stub binary and are recorded.
func runTestbin(t *testing.T, cache string, env ...string) testbinRun {
	t.Helper()
	stubs := t.TempDir()
	log := filepath.Join(stubs, "builds")
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in answers `go env` with the real go and makes each build a
	// script that runs, as a real binary would.
	gostub := `#!/bin/sh
[ "$1" = build ] || exec ` + real + ` "$@"
while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift;; esac; shift; done
echo "$out" >> ` + log + `
printf '#!/bin/sh\necho built\n' > "$out" && chmod +x "$out"
`
	if err := os.WriteFile(filepath.Join(stubs, "go"), []byte(gostub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../hack/testbin.sh")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBEBUILDER_ASSETS=") && !strings.HasPrefix(kv, "SECRETSYNC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{"SECRETSYNC_CACHE=" + cache, "SECRETSYNC_TESTBIN_GO=" + filepath.Join(stubs, "go"),
		"SECRETSYNC_ENVTEST_SUMS=" + filepath.Join(stubs, "none")}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/testbin.sh: %v\n%s", err, stderr.String())
	}
	b, _ := os.ReadFile(log)
	return testbinRun{dir: strings.TrimSpace(stdout.String()), why: stderr.String(), builds: strings.Fields(string(b))}
}

// fakeBinaries writes kube-apiserver and etcd into dir: scripts that answer
// --version with code.
func fakeBinaries(t *testing.T, dir string, code int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\necho "+b+"\nexit "+string(rune('0'+code))+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// envtestArchive is a tar.gz laid out as envtest's archives are, with
// kube-apiserver, etcd and kubectl scripts that run.
func envtestArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		body := []byte("#!/bin/sh\necho archived " + b + "\n")
		if err := tw.WriteHeader(&tar.Header{Name: "controller-tools/envtest/" + b, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTestbinTakesTheFastestSourceThatWorks runs hack/testbin.sh in each of
// its cases, with a stand-in go command and a private cache: working
// KUBEBUILDER_ASSETS are used as they are; broken ones are ignored; an
// envtest archive from the (local) release server is used only when it
// matches its pinned SHA-512; a wrong checksum or an unreachable server
// falls through to the build; and a cached build or archive is reused
// without building or downloading. Each run says on stderr which it did.
func TestTestbinTakesTheFastestSourceThatWorks(t *testing.T) {
	script := mustRead(t, "../../hack/testbin.sh")
	k8s := regexp.MustCompile(`(?m)^K8S_VERSION=(\S+)$`).FindStringSubmatch(script)
	envtestVersion := regexp.MustCompile(`(?m)^ENVTEST_VERSION=(\S+)$`).FindStringSubmatch(script)
	etcd := regexp.MustCompile(`(?m)^ETCD_VERSION=(\S+)$`).FindStringSubmatch(script)
	if k8s == nil || etcd == nil || envtestVersion == nil {
		t.Fatal("hack/testbin.sh names no K8S_VERSION, ETCD_VERSION or ENVTEST_VERSION")
	}
	platform := runtime.GOOS + "-" + runtime.GOARCH
	name := "envtest-" + envtestVersion[1] + "-" + platform + ".tar.gz"
	archive := envtestArchive(t)
	sum := sha512.Sum512(archive)
	var served []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served = append(served, r.URL.Path)
		switch r.URL.Path {
		case "/good/envtest-" + envtestVersion[1] + "/" + name:
			w.Write(archive)
		case "/tampered/envtest-" + envtestVersion[1] + "/" + name:
			w.Write(append(append([]byte(nil), archive...), 0))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	pins := filepath.Join(t.TempDir(), "envtest.sha512")
	if err := os.WriteFile(pins, []byte("# pinned\n"+hex.EncodeToString(sum[:])+"  "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	builtDir := func(cache string) string {
		return filepath.Join(cache, "testbin", "k8s-"+k8s[1]+"-etcd-"+etcd[1]+"-"+platform)
	}
	envtestDir := func(cache string) string {
		return filepath.Join(cache, "testbin", "envtest-"+envtestVersion[1]+"-"+platform)
	}
	checkBuilt := func(t *testing.T, r testbinRun, cache string) {
		t.Helper()
		dir := builtDir(cache)
		if r.dir != dir || len(r.builds) != 2 || !strings.Contains(r.why, "building from source") {
			t.Fatalf("printed %q, built %v, want both binaries built into %s\n%s", r.dir, r.builds, dir, r.why)
		}
		for _, b := range []string{"etcd", "kube-apiserver"} {
			if out, err := exec.Command(filepath.Join(dir, b), "--version").Output(); err != nil || string(out) != "built\n" {
				t.Fatalf("%s: %q %v", b, out, err)
			}
		}
		if _, err := os.Stat(envtestDir(cache)); !os.IsNotExist(err) {
			t.Fatalf("an envtest folder was left: %v", err)
		}
	}

	t.Run("working KUBEBUILDER_ASSETS are used as they are", func(t *testing.T) {
		assets := t.TempDir()
		fakeBinaries(t, assets, 0)
		r := runTestbin(t, t.TempDir(), "KUBEBUILDER_ASSETS="+assets, "SECRETSYNC_ENVTEST_SUMS="+pins, "SECRETSYNC_ENVTEST_URL="+srv.URL+"/good")
		if r.dir != assets || len(r.builds) != 0 || !strings.Contains(r.why, "using KUBEBUILDER_ASSETS="+assets) {
			t.Fatalf("printed %q, built %v\n%s", r.dir, r.builds, r.why)
		}
	})
	t.Run("the committed pins cover the release platforms with SHA-512 sums", func(t *testing.T) {
		pinned := mustRead(t, "../../hack/testbin/envtest.sha512")
		for _, p := range []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"} {
			line := regexp.MustCompile(`(?m)^[0-9a-f]{128}  envtest-` + regexp.QuoteMeta(envtestVersion[1]) + `-` + p + `\.tar\.gz$`)
			if !line.MatchString(pinned) {
				t.Errorf("hack/testbin/envtest.sha512 pins no SHA-512 for envtest-%s-%s.tar.gz", envtestVersion[1], p)
			}
		}
	})
	t.Run("KUBEBUILDER_ASSETS whose binaries fail are ignored", func(t *testing.T) {
		assets := t.TempDir()
		fakeBinaries(t, assets, 1)
		cache := t.TempDir()
		r := runTestbin(t, cache, "KUBEBUILDER_ASSETS="+assets)
		if !strings.Contains(r.why, "has no kube-apiserver and etcd that run; ignoring it") || !strings.Contains(r.why, "no SHA-512 pinned for "+name) {
			t.Fatalf("why:\n%s", r.why)
		}
		checkBuilt(t, r, cache)
	})
	t.Run("the pinned envtest archive is downloaded and then reused", func(t *testing.T) {
		cache := t.TempDir()
		served = nil
		env := []string{"SECRETSYNC_ENVTEST_SUMS=" + pins, "SECRETSYNC_ENVTEST_URL=" + srv.URL + "/good"}
		r := runTestbin(t, cache, env...)
		dir := envtestDir(cache)
		if r.dir != dir || len(r.builds) != 0 || !strings.Contains(r.why, "checksum verified") {
			t.Fatalf("printed %q, built %v\n%s", r.dir, r.builds, r.why)
		}
		for _, b := range []string{"etcd", "kube-apiserver"} {
			if out, err := exec.Command(filepath.Join(dir, b)).Output(); err != nil || string(out) != "archived "+b+"\n" {
				t.Fatalf("%s: %q %v", b, out, err)
			}
		}
		again := runTestbin(t, cache, env...)
		if again.dir != dir || len(again.builds) != 0 || len(served) != 1 || !strings.Contains(again.why, "using the cached envtest archive") {
			t.Fatalf("second run printed %q, built %v, downloads %v\n%s", again.dir, again.builds, served, again.why)
		}
	})
	t.Run("an archive that does not match its pin is not used", func(t *testing.T) {
		cache := t.TempDir()
		r := runTestbin(t, cache, "SECRETSYNC_ENVTEST_SUMS="+pins, "SECRETSYNC_ENVTEST_URL="+srv.URL+"/tampered")
		if !strings.Contains(r.why, "does not match its pinned SHA-512") {
			t.Fatalf("why:\n%s", r.why)
		}
		checkBuilt(t, r, cache)
	})
	t.Run("an unreachable release server falls through to the build, which is then reused", func(t *testing.T) {
		cache := t.TempDir()
		env := []string{"SECRETSYNC_ENVTEST_SUMS=" + pins, "SECRETSYNC_ENVTEST_URL=" + closed}
		r := runTestbin(t, cache, env...)
		if !strings.Contains(r.why, "could not download "+name) {
			t.Fatalf("why:\n%s", r.why)
		}
		checkBuilt(t, r, cache)
		again := runTestbin(t, cache, env...)
		if again.dir != builtDir(cache) || len(again.builds) != 0 || !strings.Contains(again.why, "using the cached build") || strings.Contains(again.why, "downloading") {
			t.Fatalf("second run printed %q, built %v\n%s", again.dir, again.builds, again.why)
		}
	})
}
