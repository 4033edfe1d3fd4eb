package installtest

import (
	"bytes"
	"crypto/sha256"
	"debug/macho"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func releaseVersion(t *testing.T) string {
	t.Helper()
	return "v" + strings.TrimSpace(mustRead(t, "../../VERSION"))
}

// TestTheReleaseRecipeBuildsStampedBinariesWithChecksums runs `make
// release` for two of its platforms: the native binary reports the
// release's version, the cross-built one is a Mach-O arm64 binary, and
// checksums.txt holds the SHA-256 of each, in sha256sum's format.
func TestTheReleaseRecipeBuildsStampedBinariesWithChecksums(t *testing.T) {
	v := releaseVersion(t)
	dist := t.TempDir()
	cmd := exec.Command("make", "-C", "../..", "release", "PLATFORMS=linux/amd64 darwin/arm64", "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	native := filepath.Join(dist, "secretsync-"+v+"-linux-amd64")
	out, err := exec.Command(native, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != v {
		t.Fatalf("%s version: %q %v", native, out, err)
	}
	mac := filepath.Join(dist, "secretsync-"+v+"-darwin-arm64")
	f, err := macho.Open(mac)
	if err != nil {
		t.Fatal(err)
	}
	if f.Cpu != macho.CpuArm64 {
		t.Fatalf("%s is for %v", mac, f.Cpu)
	}
	f.Close()
	sums := mustRead(t, filepath.Join(dist, "checksums.txt"))
	for _, bin := range []string{native, mac} {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(bin); !strings.Contains(sums, line+"\n") {
			t.Fatalf("checksums.txt lacks %q:\n%s", line, sums)
		}
	}
}

// TestTheImageIsStampedWithTheRelease runs the Dockerfile's version
// expression (no Docker engine here): without a build argument it is the
// release in VERSION, and the build argument wins.
func TestTheImageIsStampedWithTheRelease(t *testing.T) {
	m := regexp.MustCompile(`RUN (v="[^"]*")`).FindStringSubmatch(mustRead(t, "../../Dockerfile"))
	if m == nil {
		t.Fatal("the Dockerfile sets no version")
	}
	for arg, want := range map[string]string{"": releaseVersion(t), "v1.2.3-rc.1": "v1.2.3-rc.1"} {
		cmd := exec.Command("sh", "-c", m[1]+` && printf %s "$v"`)
		cmd.Dir = "../.."
		cmd.Env = []string{"PATH=/usr/bin:/bin", "VERSION=" + arg}
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, []byte(want)) {
			t.Fatalf("VERSION=%q: %q %v, want %s", arg, out, err, want)
		}
	}
	if !strings.Contains(mustRead(t, "../../Dockerfile"), "-X main.version=${v}") {
		t.Fatal("the Dockerfile does not stamp the version into the binary")
	}
}
