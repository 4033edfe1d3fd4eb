package awsservice

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct{ service, err string }{
		{"SecretsManager", ""},
		{"ParameterStore", ""},
		{"CertificateManager", ""},
		{"KMS", ""},
		{"", "required"},
		{"secretsmanager", `must be SecretsManager, ParameterStore, CertificateManager or KMS, not "secretsmanager"`},
	} {
		err := Check(c.service)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.err {
				t.Errorf("Check(%q) = %q, want %q", c.service, got, c.err)
			}
		} else if c.err != "" {
			t.Errorf("Check(%q) = nil, want %q", c.service, c.err)
		}
	}
}

// TestNamesAReferenceReads: the key each provider reads (Canonical) and the
// name a change event gives it (EventName), with a prefix, for names and
// ARNs.
func TestNamesAReferenceReads(t *testing.T) {
	for _, c := range []struct {
		s                Service
		prefix, key      string
		canonical, event string
	}{
		{SecretsManager, "team/", "db", "team/db", "team/db"},
		{SecretsManager, "team/", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf", "db"},
		{ParameterStore, "/team", "/db", "/team/db", "/team/db"},
		{ParameterStore, "", "arn:aws:ssm:eu-west-1:111122223333:parameter/team/db", "arn:aws:ssm:eu-west-1:111122223333:parameter/team/db", "/team/db"},
		{ParameterStore, "", "/team/db:3", "/team/db:3", "/team/db"},
		{KMS, "team/", "AQICAHh", "AQICAHh", ""},
		{CertificateManager, "team/", "arn:aws:acm:eu-west-1:111122223333:certificate/1", "arn:aws:acm:eu-west-1:111122223333:certificate/1", ""},
	} {
		if got := c.s.Canonical(c.prefix, c.key); got != c.canonical {
			t.Errorf("%s.Canonical(%q, %q) = %q, want %q", c.s, c.prefix, c.key, got, c.canonical)
		}
		if got := c.s.EventName(c.prefix, c.key); got != c.event {
			t.Errorf("%s.EventName(%q, %q) = %q, want %q", c.s, c.prefix, c.key, got, c.event)
		}
	}
}

// TestWhatEachServiceRefuses: dataFrom through KMS and CertificateManager,
// property, version or metadata of a certificate, and a PushSecret to
// anything but Secrets Manager and Parameter Store.
func TestWhatEachServiceRefuses(t *testing.T) {
	for _, s := range []Service{SecretsManager, ParameterStore, CertificateManager, KMS} {
		refusesDataFrom := s == KMS || s == CertificateManager
		if err := s.DataFromProblem(); (err != nil) != refusesDataFrom || (err != nil && !strings.HasPrefix(err.Error(), "a "+string(s)+" store: ")) {
			t.Errorf("%s.DataFromProblem() = %v, want a refusal: %v", s, err, refusesDataFrom)
		}
		if s.InGit() != (s == KMS) {
			t.Errorf("%s.InGit() = %v", s, s.InGit())
		}
		if s.Pushes() != (s == SecretsManager || s == ParameterStore) {
			t.Errorf("%s.Pushes() = %v: only Secrets Manager and Parameter Store are pushed to", s, s.Pushes())
		}
		for _, r := range []struct {
			property, version string
			metadata          bool
		}{{"", "", false}, {"user", "", false}, {"", "v1", false}, {"", "", true}} {
			refused := s == CertificateManager && (r.property != "" || r.version != "" || r.metadata)
			if err := s.RefProblem(r.property, r.version, r.metadata); (err != nil) != refused {
				t.Errorf("%s.RefProblem(%+v) = %v, want a refusal: %v", s, r, err, refused)
			}
		}
	}
}

// TestNoServiceNameOutsideProvidersAWS: what a store's service means is
// asked of providers/aws (this package), never spelled elsewhere. Every
// production Go file of the module outside providers/aws is parsed; a
// string literal that is a service's name (a comparison or a case), or that
// names two services (a copy of the list), fails. Prose naming one service
// (a flag's help) is fine.
func TestNoServiceNameOutsideProvidersAWS(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{string(SecretsManager), string(ParameterStore), string(CertificateManager), string(KMS)}
	word := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\b`)
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" || rel == filepath.Join("providers", "aws") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			named := slices.Compact(slices.Sorted(slices.Values(word.FindAllString(v, -1))))
			pos := fset.Position(lit.Pos())
			pos.Filename = rel
			switch {
			case slices.Contains(names, v):
				t.Errorf("%s: %s is spelled outside providers/aws: ask awsservice", pos, lit.Value)
			case len(named) > 1:
				t.Errorf("%s: a literal naming the services %v is a copy of providers/aws's list: ask awsservice", pos, named)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d production files found under %s: the walk is not over the module", files, root)
	}
}
