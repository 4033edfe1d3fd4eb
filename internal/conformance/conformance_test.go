// Package conformance checks the "Conformance with ESO 2.9.0 on AWS"
// table (docs/conformance.md) against the code: the table is the contract of what a repo
// written for ESO gets.
package conformance

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const heading = "Conformance with ESO 2.9.0 on AWS"

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	testName   = regexp.MustCompile(`^(Test|Fuzz)[A-Za-z0-9_]*\*?$`)
	testFunc   = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]+)\(`)
)

// TestEverySameRowNamesATestThatExists: each row of the conformance table
// that says "same" names at least one test (a Test or Fuzz function, or a
// testdata folder its test runs), and every test a row names exists: a
// Test function of the module (Name* for several), or a path of the repo.
func TestEverySameRowNamesATestThatExists(t *testing.T) {
	root := filepath.Join("..", "..")
	rows, where := conformanceRows(t, root)
	funcs := testFuncs(t, root)
	same := 0
	for _, r := range rows {
		if len(r) != 3 {
			t.Errorf("%s: row %q has %d columns, want feature | secretsync | held by", where, r[0], len(r))
			continue
		}
		feature, verdict, heldBy := r[0], r[1], r[2]
		named := 0
		for _, m := range backticked.FindAllStringSubmatch(heldBy, -1) {
			tok := m[1]
			switch {
			case testName.MatchString(tok):
				named++
				if !exists(funcs, tok) {
					t.Errorf("%s: row %q names %s, which is no test function of the module", where, feature, tok)
				}
			case strings.Contains(tok, "testdata/"):
				named++
				if _, err := os.Stat(filepath.Join(root, tok)); err != nil {
					t.Errorf("%s: row %q names %s, which does not exist", where, feature, tok)
				}
			case strings.Contains(tok, "/"):
				if _, err := os.Stat(filepath.Join(root, tok)); err != nil {
					t.Errorf("%s: row %q names %s, which does not exist", where, feature, tok)
				}
			}
		}
		if strings.HasPrefix(strings.ToLower(verdict), "same") {
			same++
			if named == 0 {
				t.Errorf("%s: row %q says %q and names no test", where, feature, verdict)
			}
		}
	}
	if same < 10 {
		t.Fatalf("%s: only %d rows say same; the table was not read", where, same)
	}
}

func exists(funcs map[string]bool, name string) bool {
	prefix, glob := strings.CutSuffix(name, "*")
	if !glob {
		return funcs[name]
	}
	for f := range funcs {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

// conformanceRows are the table's rows (cells trimmed, header and rule
// left out), from README.md or the docs/ page the table lives in.
func conformanceRows(t *testing.T, root string) ([][]string, string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, name := range append([]string{filepath.Join(root, "README.md")}, files...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		start := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "#") && strings.Contains(l, heading) {
				start = i
				break
			}
		}
		if start < 0 {
			continue
		}
		var rows [][]string
		inTable := false
		for _, l := range lines[start+1:] {
			if strings.HasPrefix(l, "#") {
				break
			}
			if !strings.HasPrefix(l, "|") {
				if inTable {
					break
				}
				continue
			}
			inTable = true
			cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), " | ")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if cells[0] == "feature" || strings.HasPrefix(cells[0], "---") {
				continue
			}
			rows = append(rows, cells)
		}
		return rows, filepath.Base(name)
	}
	t.Fatalf("no %q table in README.md or docs/", heading)
	return nil, ""
}

// testFuncs are the Test and Fuzz functions of every _test.go file of the
// module.
func testFuncs(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllSubmatch(b, -1) {
			out[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
