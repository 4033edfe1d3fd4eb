package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidateExitCodes(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "es.yaml"), []byte("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"a clean example exits 0", []string{"../../examples/basic"}, exitClean},
		{"findings exit 1", []string{broken}, exitFindings},
		{"a path that does not exist exits 2", []string{filepath.Join(broken, "nope")}, exitUsage},
		{"a bad flag exits 2", []string{"--nope"}, exitUsage},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := cli("validate", c.args, &out, &errOut); got != c.want {
				t.Fatalf("exit %d, want %d\n%s%s", got, c.want, out.String(), errOut.String())
			}
		})
	}
}

func TestPlanAgainstACommit(t *testing.T) {
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CopyDir("base", "../../examples/basic", "secrets"); err != nil {
		t.Fatal(err)
	}
	// The working tree drops one ExternalSecret.
	if err := os.WriteFile(filepath.Join(dir, "secrets", "kustomization.yaml"), []byte("namespace: demo\nresources: [store.yaml, database.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := cli("plan", []string{"--base", "main", "-o", "markdown", filepath.Join(dir, "secrets")}, &out, &errOut); code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "**1** to delete") || !strings.Contains(out.String(), "payments-api") {
		t.Fatalf("plan:\n%s", out.String())
	}
	t.Run("--check-remote reports a missing secret and a missing property, never a value", func(t *testing.T) {
		awstest.Isolate(t)
		sm := awstest.StartSM(t)
		sm.Create(t, "demo/database", `{"username":"u","password":"check-remote-seeded"}`)
		out.Reset()
		code := cli("plan", []string{"--base", "main", "-o", "json", "--check-remote", "--aws-endpoint", sm.URL, filepath.Join(dir, "secrets")}, &out, &errOut)
		if code != exitClean || sm.SM.Calls()["DescribeSecret"] != 1 {
			t.Fatalf("exit %d, calls %v: %s%s", code, sm.SM.Calls(), out.String(), errOut.String())
		}
		if err := os.WriteFile(filepath.Join(dir, "secrets", "database.yaml"), []byte(strings.Replace(mustRead(t, "../../examples/basic/database.yaml"), "property: password", "property: pasword", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		sm.Delete(t, "demo/database")
		sm.Create(t, "demo/database", `{"username":"u","password":"check-remote-seeded"}`)
		out.Reset()
		code = cli("plan", []string{"--base", "main", "-o", "json", "--check-remote", "--aws-endpoint", sm.URL, filepath.Join(dir, "secrets")}, &out, &errOut)
		if code != exitFindings || !strings.Contains(out.String(), `property \"pasword\" not found`) || strings.Contains(out.String(), "check-remote-seeded") {
			t.Fatalf("exit %d:\n%s", code, out.String())
		}
	})
	if code := cli("plan", []string{filepath.Join(dir, "secrets")}, &out, &errOut); code != exitUsage {
		t.Fatalf("plan without --base exited %d", code)
	}
	if code := cli("plan", []string{"--base", "no-such-ref", filepath.Join(dir, "secrets")}, &out, &errOut); code != exitUsage {
		t.Fatalf("plan with an unknown base exited %d", code)
	}
}

// TestCIExamplesRunTheReviewCommands keeps examples/ci and the GitHub
// Action (action.yml) in step with the command tree: every secretsync
// command line in them names a command and flags that exist, with values
// they accept.
func TestCIExamplesRunTheReviewCommands(t *testing.T) {
	files, _ := filepath.Glob("../../examples/ci/*/*.yaml")
	more, _ := filepath.Glob("../../examples/ci/*.yaml")
	files = append(append(files, more...), "../../action.yml")
	line := regexp.MustCompile(`(?m)^[ \t]*secretsync ((?:validate|plan)[^|>\n]*)`)
	seen := map[string]bool{}
	for _, f := range files {
		for _, m := range line.FindAllStringSubmatch(mustRead(t, f), -1) {
			args := strings.Fields(m[1])
			for i, a := range args {
				args[i] = strings.Trim(a, `"`) // "$VAR" stays a word
			}
			root := newRootCmd(streams{strings.NewReader(""), io.Discard, io.Discard})
			cmd, rest, err := root.Find(args)
			if err == nil {
				err = cmd.ParseFlags(rest)
			}
			if err == nil {
				err = cmd.ValidateArgs(cmd.Flags().Args())
			}
			if err != nil {
				t.Errorf("%s: secretsync %s: %v", f, m[1], err)
			}
			seen[cmd.Name()] = true
		}
	}
	if !seen["validate"] || !seen["plan"] {
		t.Fatalf("the CI examples do not run both validate and plan: %v", seen)
	}
}

func TestReviewCommandsCountWhatTheySkipAndRefuseTypos(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
		"typo.yaml": "apiVersion: external-secret.io/v1\nkind: ExternalSecret\nmetadata: {name: t}\nspec: {secretStoreRef: {name: aws}, data: [{secretKey: k, remoteRef: {key: k}}]}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("validate reports the typo as a finding with its line and counts the ConfigMap", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if got := cli("validate", []string{dir}, &out, &errOut); got != exitFindings {
			t.Fatalf("exit %d\n%s%s", got, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "typo.yaml:1: ExternalSecret default/t") || !strings.Contains(out.String(), "did you mean external-secrets.io?") ||
			!strings.Contains(errOut.String(), "1 other objects skipped, 1 findings") {
			t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	})
	t.Run("render counts them too", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if got := cli("render", []string{dir}, &out, &errOut); got != exitFindings {
			t.Fatalf("exit %d\n%s", got, errOut.String())
		}
		if !strings.Contains(errOut.String(), "1 other objects skipped, 1 errors") || !strings.Contains(errOut.String(), "typo.yaml:1: ExternalSecret default/t") {
			t.Fatalf("stderr:\n%s", errOut.String())
		}
	})
}

func TestAnOverlayOutsideGitRendersAsInside(t *testing.T) {
	dir := t.TempDir() // no git checkout
	files := map[string]string{
		"base/kustomization.yaml":    "resources: [es.yaml, store.yaml]\n",
		"base/es.yaml":               "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {secretStoreRef: {name: aws}, data: [{secretKey: k, remoteRef: {key: k}}]}\n",
		"base/store.yaml":            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n",
		"overlay/kustomization.yaml": "namespace: prod\nresources: [../base]\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	if got := cli("validate", []string{"overlay"}, &out, &errOut); got != exitClean {
		t.Fatalf("exit %d\n%s%s", got, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "1 ExternalSecrets, 1 stores") {
		t.Fatalf("stderr:\n%s", errOut.String())
	}
}

func TestPlanOfAFolderAddedOrDeleted(t *testing.T) {
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CopyDir("base", "../../examples/basic", "secrets"); err != nil {
		t.Fatal(err)
	}
	t.Run("a folder deleted by the change plans every Secret as deleted", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "secrets")); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := cli("plan", []string{"--base", "main", "-o", "markdown", filepath.Join(dir, "secrets")}, &out, &errOut); code != exitClean {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if !strings.Contains(out.String(), "**2** to delete") {
			t.Fatalf("plan:\n%s", out.String())
		}
	})
	t.Run("a folder new in the change plans every Secret as created", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := cli("plan", []string{"--base", "main", "-o", "markdown", filepath.Join(dir, "new")}, &out, &errOut); code != exitClean {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if err := os.CopyFS(filepath.Join(dir, "new"), os.DirFS("../../examples/basic")); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if code := cli("plan", []string{"--base", "main", "-o", "markdown", filepath.Join(dir, "new")}, &out, &errOut); code != exitClean {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		if !strings.Contains(out.String(), "**2** to create") {
			t.Fatalf("plan:\n%s", out.String())
		}
	})
}

func TestValidateAgainstABaseFailsOnlyOnNewFindings(t *testing.T) {
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	vault := "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: vault, namespace: team}\nspec: {provider: {vault: {server: v}}}\n"
	if _, err := repo.Commit("a store secretsync does not support", map[string]string{"secrets/vault.yaml": vault}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "secrets")
	run := func() (int, string) {
		var out, errOut bytes.Buffer
		code := cli("validate", []string{"--base", "main", path}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	t.Run("a finding already on the base is marked and does not fail", func(t *testing.T) {
		code, out := run()
		if code != exitClean || !strings.Contains(out, "(already on the base)") || !strings.Contains(out, "1 findings (0 new since main)") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("a new finding fails", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(path, "es.yaml"), []byte("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x, namespace: team}\nspec: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := run()
		if code != exitFindings || !strings.Contains(out, "2 findings (1 new since main)") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

func TestRenderKeepsEachObjectsFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := cli("render", []string{"../../examples/basic"}, &out, &errOut); code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, f := range []string{"store.yaml", "database.yaml", "payments.yaml"} {
		if !strings.Contains(out.String(), "config.kubernetes.io/origin: |\n      path: ") || !strings.Contains(out.String(), f+"\n") {
			t.Fatalf("no origin annotation for %s in:\n%s", f, out.String())
		}
	}
}

func TestDiffWithAnUnreachableClusterIsAnError(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli("diff", []string{"--kubeconfig", kubeconfig, "--inventory-namespace", "default", "../../examples/basic"}, &out, &errOut)
	if code != exitUsage || strings.Contains(out.String(), "would change") || !strings.Contains(errOut.String(), "error:") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := cli("version", []string{"-o", "json"}, &out, &errOut); code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got struct{ Version, GoVersion, Platform string }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Version == "" || got.GoVersion == "" || !strings.Contains(got.Platform, "/") {
		t.Fatalf("json %s: %v", out.String(), err)
	}
	if code := cli("version", []string{"-o", "xml"}, &out, &errOut); code != exitUsage {
		t.Fatalf("-o xml exited %d", code)
	}
}

// TestReviewCommandsNameAFolderLeftOutOfTheRender: a change that adds a
// .secretsyncignore over a folder of ExternalSecrets fails validate with a
// finding that names the folder and its objects, and plan names the folder
// beside each Secret it deletes because of it.
func TestReviewCommandsNameAFolderLeftOutOfTheRender(t *testing.T) {
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	es := func(name string) string {
		return fmt.Sprintf("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: %s, namespace: shop}\nspec:\n  secretStoreRef: {name: aws}\n  data: [{secretKey: k, remoteRef: {key: r}}]\n", name)
	}
	if _, err := repo.Commit("secrets", map[string]string{
		"secrets/store.yaml":     "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: shop}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n",
		"secrets/keep.yaml":      es("keep"),
		"secrets/legacy/db.yaml": es("db"),
	}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "secrets")
	if err := os.WriteFile(filepath.Join(path, ".secretsyncignore"), []byte("legacy/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const finding = "secrets/legacy: folder left out of the render (excluded by .secretsyncignore), but it holds ESO objects that run never reads: ExternalSecret shop/db in secrets/legacy/db.yaml"
	for _, args := range [][]string{{path}, {"--base", "main", path}} {
		var out, errOut bytes.Buffer
		if code := cli("validate", args, &out, &errOut); code != exitFindings || !strings.Contains(out.String(), finding) {
			t.Fatalf("validate %v: exit %d:\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	code := cli("plan", []string{"--base", "main", path}, &out, &errOut)
	if code != exitFindings || !strings.Contains(out.String(), finding) ||
		!strings.Contains(out.String(), "(delete, shop/db in secrets/legacy/db.yaml; dropped with folder secrets/legacy (excluded by .secretsyncignore))") {
		t.Fatalf("plan: exit %d:\n%s%s", code, out.String(), errOut.String())
	}
}
