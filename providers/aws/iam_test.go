package aws_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// notInThePolicy are AWS operations the code calls that
// docs/iam-policy.json (the controller's role) must not grant, and why.
var notInThePolicy = map[string]string{
	// cmd/secretsync/encrypt.go: run by a person with their own credentials.
	"kms:Encrypt": "secretsync encrypt runs with its user's credentials, not the controller's role",
	// AWS authorizes it by the role's trust policy; the caller needs no permission.
	"sts:AssumeRoleWithWebIdentity": "authorized by the role's trust policy (IRSA, auth.jwt), not an identity policy",
}

// impliedBy are actions AWS authorizes as part of another call the code
// makes, so the policy must grant them though no code calls them alone.
var impliedBy = map[string]string{
	// providers/aws/push.go creates a secret with its managed-by tag.
	"secretsmanager:TagResource": "secretsmanager:CreateSecret",
}

// TestTheIAMPolicyGrantsExactlyWhatTheCodeCalls lists every AWS operation the
// controller's code can call, read from the source of providers/aws,
// cmd/secretsync and service (each SDK operation's input type or paginator, and the
// stscreds providers: AssumeRole for role and additionalRoles, TagSession
// when sessionTags or transitiveTagKeys are passed), and compares it with
// the actions docs/iam-policy.json allows, both ways: an operation the
// policy lacks fails, and so does an action nothing calls. A policy the docs
// show for secretsync's role grants nothing beyond that file. -v lists each
// action with the files that call it.
func TestTheIAMPolicyGrantsExactlyWhatTheCodeCalls(t *testing.T) {
	called := map[string][]string{} // action -> files that call it
	for dir, label := range map[string]string{".": "providers/aws", "../../cmd/secretsync": "cmd/secretsync", "../../service": "service", "../../events": "events"} {
		for action, files := range awsCalls(t, dir, label) {
			called[action] = append(called[action], files...)
		}
	}
	// The scan must see each provider, or a broken scan would pass an
	// empty policy.
	for _, want := range []string{"secretsmanager:GetSecretValue", "ssm:GetParameters", "acm:ExportCertificate", "kms:Decrypt",
		"ecr:GetAuthorizationToken", "sts:AssumeRole", "sqs:ReceiveMessage"} {
		if called[want] == nil {
			t.Errorf("the scan found no call of %s: %v", want, called)
		}
	}
	for action, why := range notInThePolicy {
		if called[action] == nil {
			t.Errorf("%s is listed as called but kept out of the policy (%s), and nothing calls it", action, why)
		}
	}

	for action, by := range impliedBy {
		if called[by] == nil {
			t.Errorf("%s is granted for %s, which nothing calls", action, by)
		}
		called[action] = append(called[action], "implied by "+by)
	}
	granted := policyActions(t, "../../docs/iam-policy.json")
	for action, files := range called {
		if _, ok := notInThePolicy[action]; ok {
			if granted[action] {
				t.Errorf("docs/iam-policy.json grants %s: %s", action, notInThePolicy[action])
			}
			continue
		}
		if !granted[action] {
			t.Errorf("docs/iam-policy.json lacks %s, which %s calls", action, strings.Join(files, ", "))
		}
	}
	for action := range granted {
		if called[action] == nil {
			t.Errorf("docs/iam-policy.json grants %s, which no code calls", action)
		}
	}

	// The policy snippets the docs show for secretsync's own role (a
	// statement without a Principal) grant nothing beyond the policy.
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, doc := range append(docs, "../../README.md") {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			for _, st := range statements([]byte(block[1])) {
				for _, a := range st {
					if !granted[a] {
						t.Errorf("%s shows a policy granting %s, which docs/iam-policy.json does not", doc, a)
					}
				}
			}
		}
	}
	if testing.Verbose() {
		for _, a := range slices.Sorted(maps.Keys(called)) {
			t.Logf("%-40s %s", a, strings.Join(called[a], ", "))
		}
	}
}

// statements is the actions of each statement without a Principal (an
// identity policy's) in a JSON policy, statement or list of statements;
// nothing for other JSON.
func statements(b []byte) [][]string {
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out [][]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			if st, ok := v["Statement"]; ok {
				walk(st)
				return
			}
			if _, ok := v["Principal"]; ok {
				return
			}
			var actions []string
			switch a := v["Action"].(type) {
			case string:
				actions = []string{a}
			case []any:
				for _, e := range a {
					s, _ := e.(string)
					actions = append(actions, s)
				}
			}
			if len(actions) > 0 {
				out = append(out, actions)
			}
		}
	}
	walk(doc)
	return out
}

// policyActions is every action an Allow statement of the policy names.
// pushWrites are the actions a push makes: each is granted only on the
// managed-by tag, in the request (create) or on the resource.
var pushWrites = map[string]bool{
	"secretsmanager:CreateSecret": true, "secretsmanager:PutSecretValue": true, "secretsmanager:DeleteSecret": true,
	"secretsmanager:TagResource": true, "secretsmanager:UntagResource": true,
	"secretsmanager:PutResourcePolicy": true, "secretsmanager:DeleteResourcePolicy": true,
	// Read only for a push's resourcePolicy, on a secret already checked to be ours.
	"secretsmanager:GetResourcePolicy": true,
	"ssm:PutParameter":                 true, "ssm:DeleteParameter": true, "ssm:AddTagsToResource": true, "ssm:RemoveTagsFromResource": true,
}

// managedByCondition is the condition key ("aws:RequestTag/managed-by",
// "secretsmanager:ResourceTag/managed-by", ...) by which a statement
// requires managed-by=external-secrets, or "".
func managedByCondition(c map[string]map[string]string) string {
	for key, v := range c["StringEquals"] {
		if strings.HasSuffix(key, "Tag/managed-by") && v == "external-secrets" {
			return key
		}
	}
	return ""
}

func policyActions(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Sid, Effect string
			Action      json.RawMessage
			Condition   map[string]map[string]string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]bool{}
	conditioned := map[string]string{} // action -> the condition key of the statement that granted it
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			t.Errorf("%s: statement %s is not an Allow", path, s.Sid)
		}
		var list []string
		if err := json.Unmarshal(s.Action, &list); err != nil {
			var one string
			if err := json.Unmarshal(s.Action, &one); err != nil {
				t.Fatalf("%s: statement %s: Action: %v", path, s.Sid, err)
			}
			list = []string{one}
		}
		for _, a := range list {
			if strings.Contains(a, "*") {
				t.Errorf("%s: statement %s grants a wildcard action %s", path, s.Sid, a)
			}
			tag := managedByCondition(s.Condition)
			if pushWrites[a] && tag == "" {
				t.Errorf("%s: statement %s grants %s without a condition on the %s tag", path, s.Sid, a, "managed-by")
			}
			// A push write may be granted twice: on create (the request's
			// tag) and on what exists (the resource's); nothing else.
			if out[a] && (tag == "" || conditioned[a] == "" || conditioned[a] == tag) {
				t.Errorf("%s: %s is granted twice", path, a)
			}
			out[a], conditioned[a] = true, tag
		}
	}
	return out
}

var (
	sdkService = regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/([a-z0-9]+)$`)
	sdkInput   = regexp.MustCompile(`^([A-Z][A-Za-z0-9]*)Input$`)
	sdkPager   = regexp.MustCompile(`^New([A-Z][A-Za-z0-9]*)Paginator$`)
)

// awsCalls scans a folder's non-test Go files for AWS operations: a
// reference to an SDK service package's <Operation>Input or
// New<Operation>Paginator is a call of service:Operation (every SDK call
// takes its input type), and stscreds' role providers are sts calls. It
// returns each action with the files (named label/file) that call it.
func awsCalls(t *testing.T, dir, label string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	add := func(action, file string) {
		if !slices.Contains(out[action], file) {
			out[action] = append(out[action], file)
		}
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		name := label + "/" + filepath.Base(path)
		services := map[string]string{} // local package name -> IAM prefix
		stscreds := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if m := sdkService.FindStringSubmatch(p); m != nil {
				services[local] = m[1]
			}
			if p == "github.com/aws/aws-sdk-go-v2/credentials/stscreds" {
				stscreds = local
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if svc, ok := services[pkg.Name]; ok {
				if m := sdkInput.FindStringSubmatch(sel.Sel.Name); m != nil {
					add(svc+":"+m[1], name)
				} else if m := sdkPager.FindStringSubmatch(sel.Sel.Name); m != nil {
					add(svc+":"+m[1], name)
				}
			}
			if stscreds != "" && pkg.Name == stscreds {
				switch sel.Sel.Name {
				case "NewAssumeRoleProvider":
					add("sts:AssumeRole", name)
				case "NewWebIdentityRoleProvider":
					add("sts:AssumeRoleWithWebIdentity", name)
				}
			}
			return true
		})
		// Session tags (Tags, TransitiveTagKeys) on an AssumeRole need
		// sts:TagSession as well.
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || stscreds == "" || fn.Sel.Name != "NewAssumeRoleProvider" {
				return true
			}
			if x, ok := fn.X.(*ast.Ident); !ok || x.Name != stscreds {
				return true
			}
			ast.Inspect(call, func(n ast.Node) bool {
				if s, ok := n.(*ast.SelectorExpr); ok && (s.Sel.Name == "Tags" || s.Sel.Name == "TransitiveTagKeys") {
					add("sts:TagSession", name)
				}
				return true
			})
			return true
		})
	}
	for _, files := range out {
		sort.Strings(files)
	}
	return out
}
