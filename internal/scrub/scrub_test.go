package scrub_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/secretsync/secretsync/internal/scrub"
)

func TestStringReplacesEveryFormOfAKnownValue(t *testing.T) {
	r := scrub.New()
	r.Add([]byte("s3cr3t-value"))
	r.Add([]byte("line one\n\"quoted\" <b>"))
	r.AddString("abc") // shorter than MinLen: not redacted
	for _, c := range []struct{ name, in, want string }{
		{"as is, twice", "a s3cr3t-value b s3cr3t-value", "a [REDACTED] b [REDACTED]"},
		{"Go-quoted", "Invalid value: " + strconv.Quote("line one\n\"quoted\" <b>"), `Invalid value: "[REDACTED]"`},
		{"JSON-escaped", `{"msg":"line one\n\"quoted\" \u003cb\u003e"}`, `{"msg":"[REDACTED]"}`},
		{"quoted inside JSON", `{"error":"x: \"line one\\n\\\"quoted\\\" <b>\""}`, `{"error":"x: \"[REDACTED]\""}`},
		{"overlapping matches become one marker", "s3cr3t-values3cr3t-value", "[REDACTED]"},
		{"text with no value", "nothing here: abc", "nothing here: abc"},
		{"a value at the very end", "x=s3cr3t-value", "x=[REDACTED]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := r.String(c.in); got != c.want {
				t.Fatalf("String(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	var none *scrub.Redactor
	if got := none.String("s3cr3t-value"); got != "s3cr3t-value" {
		t.Fatalf("a nil Redactor changed text: %q", got)
	}
}

func TestErrorKeepsTheAPIStatusAndDropsTheValue(t *testing.T) {
	r := scrub.New()
	r.AddString("bad label!")
	status := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "app",
		field.ErrorList{field.Invalid(field.NewPath("metadata", "labels"), "bad label!", "a valid label must be...")})
	err := r.Error(fmt.Errorf("apply secret ns/app: %w", status))
	if strings.Contains(err.Error(), "bad label!") || !strings.Contains(err.Error(), "apply secret ns/app") {
		t.Fatalf("err = %v", err)
	}
	if !apierrors.IsInvalid(err) {
		t.Fatal("the scrubbed error is no longer Invalid")
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) || strings.Contains(fmt.Sprint(st.Status()), "bad label!") {
		t.Fatalf("the chain still holds the value: %v", st.Status())
	}
	if errors.Is(err, status) {
		t.Fatal("the chain still holds the original error")
	}
	plain := errors.New("no value here")
	if r.Error(plain) != plain {
		t.Fatal("an error with no value was rebuilt")
	}
}

func TestAValueThatIsAnotherValuesQuotedFormKeepsItsOwnForms(t *testing.T) {
	r := scrub.New()
	r.Add([]byte(`a"b-c"d`))   // its Go-quoted form is a\"b-c\"d
	r.Add([]byte(`a\"b-c\"d`)) // that form, as a value of its own
	r.Add([]byte(`a\"b-c\"d`)) // added again: nothing changes
	in := "got " + strconv.Quote(`a\"b-c\"d`)
	if got, want := r.String(in), `got "[REDACTED]"`; got != want {
		t.Errorf("the quoted form of a value first known as another's form: got %q, want %q", got, want)
	}
}
