package render_test

import (
	"context"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/render"
)

// TestTemplateBombsStopAtTheBudget: templates that would take unbounded
// time or memory (sprig repeat/until/untilStep/seq, a doubling string,
// nested ranges, recursion, a huge output) end with an error naming the
// budget, not the count (it may come from a value), and a template within
// the budget still runs.
func TestTemplateBombsStopAtTheBudget(t *testing.T) {
	const count = "987654321" // a value: never in an error
	values := map[string]string{"n": count}
	for name, body := range map[string]string{
		"repeat":            `{{ repeat 100000000 "x" }}`,
		"repeat of a value": `{{ repeat (atoi .n) "x" }}`,
		"until":             `{{ range until 100000000 }}{{ end }}`,
		"untilStep":         `{{ range untilStep 0 987654321 1 }}{{ end }}`,
		"seq":               `{{ seq 1 100000000 }}`,
		"randAlpha":         `{{ randAlpha 100000000 }}`,
		"indent":            `{{ indent 100000000 "a" }}`,
		"replace":           `{{ $s := repeat 100000 "x" }}{{ replace "" (repeat 1000 "y") $s }}`,
		"doubling":          `{{ $s := "xxxxxxxx" }}{{ range until 40 }}{{ $s = print $s $s }}{{ end }}{{ len $s }}`,
		"nested ranges":     `{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}`,
		"range integer":     `{{ range 100000000000 }}{{ end }}`,
		"recursion":         `{{ define "a" }}{{ if lt (len .) 40 }}{{ template "a" (print . "x") }}{{ template "a" (print . "x") }}{{ end }}{{ end }}{{ template "a" "" }}`,
		"output":            `{{ range until 50000 }}{{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }}{{ end }}`,
		"join":              `{{ $l := list }}{{ $b := repeat 60000 "x" }}{{ range until 2000 }}{{ $l = append $l "" }}{{ end }}{{ join $b $l | len }}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render.Execute(context.Background(), "data.k", body, values)
			if !errors.Is(err, render.ErrBudget) {
				t.Fatalf("want a budget error, got %v", err)
			}
			if !strings.Contains(err.Error(), "template data.k") || strings.Contains(err.Error(), count) {
				t.Fatalf("the error must name the template and not quote the value: %v", err)
			}
		})
	}
	out, err := render.Execute(context.Background(), "data.k", `{{ range until 3 }}{{ repeat 2 "ab" }}{{ end }}{{ printf "%s" .n | len }}`, values)
	if err != nil || out != "abababababab9" {
		t.Fatalf("a template within the budget: %q, %v", out, err)
	}
}

// TestTemplateStopsWithItsContext: a template runs under the pass's
// context, and ends once it is done.
func TestTemplateStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := render.Execute(ctx, "data.k", `{{ range until 1000 }}{{ end }}`, nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "template data.k") {
		t.Fatalf("want the template stopped by its context, got %v", err)
	}
}

// TestTemplateFunctionsThatMultiplyTheirInputStopAtTheBudget: a function
// whose result is a multiple of its input (printf padding every verb of
// one operand, wrapWith's separator between every character, text/template's
// own js/html/urlquery escapers nested) is refused at the budget, before it
// allocates gigabytes: what a whole execution allocates stays under a few
// times the budget's 64 MiB of work.
func TestTemplateFunctionsThatMultiplyTheirInputStopAtTheBudget(t *testing.T) {
	const secret = "s3cr3t-canary-value" // a value: never in an error
	values := map[string]string{"v": secret}
	for name, body := range map[string]string{
		"printf":   `{{ printf "` + strings.Repeat("%01000000[1]d", 300) + `" 1 | len }}`,
		"wrapWith": `{{ wrapWith 1 (repeat 20000 "b") (repeat 10000 "a") | len }}`,
		"js":       `{{ $s := repeat 10000 "\\" }}{{ js (js (js (js (js (js (js (js (js (js (js (js $s))))))))))) | len }}`,
		"html":     `{{ $s := repeat 1000000 "&" }}{{ html (html $s) | len }}`,
		"urlquery": `{{ $s := repeat 1000000 "%" }}{{ urlquery (urlquery $s) | len }}`,
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := render.Execute(context.Background(), "data.k", body, values)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, render.ErrBudget) {
				t.Fatalf("want a budget error, got %v", err)
			}
			if strings.Contains(err.Error(), secret[:8]) {
				t.Fatalf("the error quotes the value: %v", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Fatalf("the execution allocated %d MiB before it stopped", alloc>>20)
			}
		})
	}
	out, err := render.Execute(context.Background(), "data.k", `{{ printf "%s-%05d-%[1]q" .v 7 }} {{ wrapWith 4 "-" "abcdefgh" }} {{ js "a'b" }}`, values)
	if want := secret + `-00007-"` + secret + `" abcd-efgh a\'b`; err != nil || out != want {
		t.Fatalf("a template within the budget: %q, %v; want %q", out, err, want)
	}
}

// TestATemplateFunctionThatIgnoresItsContextDoesNotHoldThePass: a
// 73-byte PKCS#12 archive in a template's own text whose MAC asks 2^31-1
// key-derivation rounds keeps pkcs12key busy for many minutes, and the
// budget checks the context only between steps. Execute returns once its
// context ends, with that context's error naming the template; the 60 s
// wait is only a safety net (the context ends after one second).
func TestATemplateFunctionThatIgnoresItsContextDoesNotHoldThePass(t *testing.T) {
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	type digestInfo struct {
		Algorithm algID
		Digest    []byte
	}
	type macData struct {
		Mac        digestInfo
		MacSalt    []byte
		Iterations int
	}
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}
	type pfx struct {
		Version  int
		AuthSafe contentInfo
		MacData  macData `asn1:"optional"`
	}
	inner, _ := asn1.Marshal([]byte{0x30, 0x00})
	der, err := asn1.Marshal(pfx{Version: 3,
		AuthSafe: contentInfo{ContentType: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}, Content: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: inner}},
		MacData:  macData{Mac: digestInfo{Algorithm: algID{Algorithm: asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}}, Digest: make([]byte, 20)}, MacSalt: make([]byte, 8), Iterations: math.MaxInt32}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{{ pkcs12key (b64dec "` + base64.StdEncoding.EncodeToString(der) + `") }}`
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := render.Execute(ctx, "data.k", body, nil); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "template data.k") {
			t.Fatalf("want the template stopped at its context's end, got %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Execute kept the pass a minute after its context ended")
	}
}
