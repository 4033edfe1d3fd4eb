package installtest

import (
	"bytes"
	"crypto/sha256"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"net"
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
// release's version, the cross-built one is a Mach-O arm64 binary, each has
// a CycloneDX SBOM naming our module at the release for its platform with
// the pinned versions of go.mod, and checksums.txt holds the SHA-256 of each
// binary and SBOM, in sha256sum's format (`sha256sum -c` passes, as
// docs/install.md tells users to run).
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
	cobra := regexp.MustCompile(`(?m)^\s*github\.com/spf13/cobra (v\S+)`).FindStringSubmatch(mustRead(t, "../../go.mod"))
	if cobra == nil {
		t.Fatal("go.mod pins no github.com/spf13/cobra")
	}
	for bin, platform := range map[string]string{native: "goarch=amd64&goos=linux", mac: "goarch=arm64&goos=darwin"} {
		checkSBOM(t, bin+".cdx.json", v, platform, "github.com/spf13/cobra", cobra[1])
	}
	sums := mustRead(t, filepath.Join(dist, "checksums.txt"))
	for _, file := range []string{native, mac, native + ".cdx.json", mac + ".cdx.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if line := hex.EncodeToString(sum[:]) + "  " + filepath.Base(file); !strings.Contains(sums, line+"\n") {
			t.Fatalf("checksums.txt lacks %q:\n%s", line, sums)
		}
	}
	check := exec.Command("sha256sum", "-c", "checksums.txt")
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c checksums.txt: %v\n%s", err, out)
	}
}

// checkSBOM: path is a CycloneDX JSON document whose main component is our
// module at version, built for platform (its package URL's qualifiers),
// and which lists module dep at depVersion.
func checkSBOM(t *testing.T, path, version, platform, dep, depVersion string) {
	t.Helper()
	var bom struct {
		BOMFormat, SpecVersion string
		Metadata               struct {
			Component struct{ Name, Version, Purl string }
		}
		Components []struct{ Name, Version string }
	}
	if err := json.Unmarshal([]byte(mustRead(t, path)), &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	main := bom.Metadata.Component
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" || main.Name != "github.com/secretsync/secretsync" || main.Version != version ||
		!strings.HasPrefix(main.Purl, "pkg:golang/github.com/secretsync/secretsync@"+version+"?"+platform) {
		t.Fatalf("%s: %s %s, main component %+v", path, bom.BOMFormat, bom.SpecVersion, main)
	}
	for _, c := range bom.Components {
		if c.Name == dep {
			if c.Version != depVersion {
				t.Fatalf("%s: %s at %s, go.mod pins %s", path, dep, c.Version, depVersion)
			}
			return
		}
	}
	t.Fatalf("%s lists no %s among %d components", path, dep, len(bom.Components))
}

// TestMakeVulnSaysWhenItCannotCheck: with the vulnerability database out of
// reach (a local port nothing listens on), `make vuln` fails and says that
// nothing was checked, rather than passing.
func TestMakeVulnSaysWhenItCannotCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	db := "http://" + l.Addr().String()
	l.Close()
	out, err := exec.Command("make", "-s", "-C", "../..", "vuln", "VULNDB="+db).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "make vuln: the Go vulnerability database "+db+" cannot be reached from here: nothing was checked") {
		t.Fatalf("make vuln: %v\n%s", err, out)
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

// TestTheReleaseWorkflowSignsWhatItPublishes: the example release workflow
// passes actionlint, runs on a tag that must be VERSION's release, builds
// with `make release`, signs checksums.txt, the image and the chart with
// keyless cosign (an OIDC token, no key), and pushes the chart as an OCI
// artifact; docs/install.md verifies each of them against that workflow's
// identity for the tag, with the bundle name the workflow publishes.
func TestTheReleaseWorkflowSignsWhatItPublishes(t *testing.T) {
	const path = "../../examples/release/release.yaml"
	actionLint(t, []string{path}, nil)
	wf := readYAML(t, path)
	tags, _ := triggers(wf)["push"].(map[string]any)["tags"].([]any)
	if len(tags) != 1 || tags[0] != "v*" {
		t.Errorf("the release workflow runs on tags %v", tags)
	}
	if p := wf["permissions"].(map[string]any); p["id-token"] != "write" || p["contents"] != "write" || p["packages"] != "write" {
		t.Errorf("permissions %v: keyless signing needs id-token: write, the release contents: write, ghcr.io packages: write", p)
	}
	text := mustRead(t, path)
	for _, want := range []string{
		`test "$TAG" = "v$(cat VERSION)"`,
		"run: make release",
		"cosign sign-blob --yes --bundle dist/checksums.txt.sigstore.json dist/checksums.txt",
		"dist/secretsync-* dist/checksums.txt dist/checksums.txt.sigstore.json",
		`cosign sign --yes "$IMAGE@$DIGEST"`,
		"IMAGE: ghcr.io/secretsync/secretsync",
		"CHARTS: oci://ghcr.io/secretsync/charts",
		`helm push "dist/chart/secretsync-$version.tgz" "$CHARTS"`,
		`cosign sign --yes "${CHARTS#oci://}/secretsync@$digest"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the release workflow lacks %q", want)
		}
	}
	if strings.Contains(text, "--key") || strings.Contains(text, "COSIGN_PRIVATE_KEY") {
		t.Error("the release workflow signs with a key, not keyless")
	}
	if !strings.HasPrefix(text, "# .github/workflows/release.yaml ") {
		t.Error("the release workflow does not say where it runs; the docs' certificate identity names .github/workflows/release.yaml")
	}
	var scripts []string
	for _, job := range wf["jobs"].(map[string]any) {
		for _, step := range job.(map[string]any)["steps"].([]any) {
			if run, ok := step.(map[string]any)["run"].(string); ok {
				if strings.Contains(run, "${{") {
					t.Errorf("a run script interpolates an expression; read it from env: %s", run)
				}
				scripts = append(scripts, run)
			}
		}
	}
	checkShell(t, "release", strings.Join(scripts, "\n"))

	doc := mustRead(t, "../../docs/install.md")
	identity := `--certificate-identity "https://github.com/secretsync/secretsync/.github/workflows/release.yaml@refs/tags/$v"`
	for _, want := range []string{
		"v=" + releaseVersion(t) + "\n",
		"cosign verify-blob checksums.txt --bundle checksums.txt.sigstore.json \\\n  " + identity,
		"sha256sum -c checksums.txt --ignore-missing",
		`cosign verify "ghcr.io/secretsync/secretsync:$v" \` + "\n  " + identity,
		`helm pull oci://ghcr.io/secretsync/charts/secretsync --version "${v#v}"`,
		`cosign verify "ghcr.io/secretsync/charts/secretsync:${v#v}" \` + "\n  " + identity,
		"--certificate-oidc-issuer https://token.actions.githubusercontent.com",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/install.md lacks %q", want)
		}
	}
	m := regexp.MustCompile("(?s)## Verify a release.*?```sh\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("docs/install.md has no verify commands")
	}
	checkShell(t, "docs/install.md", m[1])
}
