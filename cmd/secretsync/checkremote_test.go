package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/awstest"
	"github.com/secretsync/secretsync/internal/gittest"
)

// TestCheckRemoteIsNoOracleForAValue: a pull request whose property is a
// gjson query on the value (`[@this]|#(password%"c*")`, true when the
// password starts with c) gets the same plan whether the query matches or
// not, so `plan --check-remote` with CI's credentials cannot be asked
// about a value one character at a time; a plain property is still checked.
func TestCheckRemoteIsNoOracleForAValue(t *testing.T) {
	awstest.Isolate(t)
	dir := t.TempDir()
	repo, err := gittest.Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CopyDir("base", "../../examples/basic", "secrets"); err != nil {
		t.Fatal(err)
	}
	sm := awstest.StartSM(t)
	const seeded = "check-remote-oracle-seeded"
	sm.Create(t, "demo/database", `{"username":"u","password":"`+seeded+`"}`)
	plan := func(property string) (int, string) {
		t.Helper()
		db := strings.Replace(mustRead(t, "../../examples/basic/database.yaml"), "property: password", "property: '"+property+"'", 1)
		if err := os.WriteFile(filepath.Join(dir, "secrets", "database.yaml"), []byte(db), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := cli("plan", []string{"--base", "main", "-o", "json", "--check-remote", "--aws-endpoint", sm.URL, filepath.Join(dir, "secrets")}, &out, &errOut)
		if strings.Contains(out.String()+errOut.String(), seeded) {
			t.Fatal("the plan printed the value")
		}
		return code, out.String()
	}
	// The plan names the property (JSON-escaped): compare with it swapped.
	swap := func(s, from, to string) string {
		esc := func(p string) string { b, _ := json.Marshal(p); return strings.Trim(string(b), `"`) }
		return strings.ReplaceAll(strings.ReplaceAll(s, esc(from), esc(to)), from, to)
	}
	for _, q := range [][2]string{
		{`[@this]|#(password%"c*")`, `[@this]|#(password%"x*")`},
		{`@values|#(%"check-*")`, `@values|#(%"xheck-*")`},
		{`pass*`, `xass*`},
	} {
		hitCode, hit := plan(q[0])
		missCode, miss := plan(q[1])
		if hitCode != missCode || swap(hit, q[0], q[1]) != miss {
			t.Fatalf("property %s: exit %d against %d for %s; the plan tells them apart", q[0], hitCode, missCode, q[1])
		}
	}
	if code, out := plan("pasword"); code != exitFindings || !strings.Contains(out, `property \"pasword\" not found`) {
		t.Fatalf("a plain missing property: exit %d\n%s", code, out)
	}
}
