package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// userDocs are the documents a user reads: README.md and docs/*.md.
func userDocs(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, docs...)
}

// benchFigures is docs/bench-figures.json, as hack/bench writes it.
type benchFigures struct {
	Runs map[string]struct {
		Commit, Date, Go string
		CPUs             int
		Figures          map[string]struct {
			Value    float64
			Unit     string
			Min, Max *float64
			Target   *struct {
				AtLeast bool
				Value   float64
				Met     bool
			}
			Note string
		}
	}
}

// A quoted figure: <!--fig NAME-->text<!--/fig-->, NAME being a figure of
// the bench run (or RUN/NAME for another run, e.g. bench-large/...), and an
// optional form: spread (with [min–max]), bare (no unit), target, note.
// <!--fig run--> quotes the run itself (commit, date, machine).
var figMarker = regexp.MustCompile(`<!--fig ([a-z0-9_/-]+)(?: (spread|bare|target|note))?-->(.*?)<!--/fig-->`)

// quote is the text a marker stands for, or an error naming what is missing.
func (b *benchFigures) quote(name, form string) (string, error) {
	run := "bench"
	if r, n, ok := strings.Cut(name, "/"); ok {
		run, name = r, n
	}
	r, ok := b.Runs[run]
	if !ok {
		return "", fmt.Errorf("docs/bench-figures.json has no run %q", run)
	}
	if name == "run" {
		return fmt.Sprintf("commit %s on %s (%d CPUs, %s)", r.Commit, r.Date, r.CPUs, r.Go), nil
	}
	f, ok := r.Figures[name]
	if !ok {
		return "", fmt.Errorf("run %q of docs/bench-figures.json has no figure %q", run, name)
	}
	withUnit := func(v float64) string {
		switch f.Unit {
		case "", "x", "/s":
			return figureNumber(v) + f.Unit
		}
		return figureNumber(v) + " " + f.Unit
	}
	switch form {
	case "bare":
		return figureNumber(f.Value), nil
	case "note":
		return f.Note, nil
	case "spread":
		if f.Min == nil {
			return "", fmt.Errorf("figure %q has one sample, no [min–max]", name)
		}
		return fmt.Sprintf("%s [%s–%s]", withUnit(f.Value), figureNumber(*f.Min), figureNumber(*f.Max)), nil
	case "target":
		if f.Target == nil {
			return "", fmt.Errorf("figure %q has no target", name)
		}
		op, met := "≤", "met"
		if f.Target.AtLeast {
			op = "≥"
		}
		if !f.Target.Met {
			met = "**missed**"
		}
		return fmt.Sprintf("%s %s: %s", op, withUnit(f.Target.Value), met), nil
	}
	return withUnit(f.Value), nil
}

// figureNumber prints v to three significant digits, whole numbers whole
// (with thousands separators).
func figureNumber(v float64) string {
	decimals := 0
	if v != math.Trunc(v) {
		decimals = max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		return strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// measured is a number with the unit of a measurement (or none: a
// decimal): what a figure retyped by hand looks like.
var measured = regexp.MustCompile(`\d[\d,]*(?:\.\d+)?(?:\s?(s|ms|µs|MiB|MB|KB|KiB|/s|x)\b)?`)

// decimalMeasured is a decimal with such a unit: a measured figure, since
// settings and limits are whole numbers.
var decimalMeasured = regexp.MustCompile(`\d\.\d+\s?(?:s|ms|µs|MiB|MB|KB|KiB|/s|x)\b`)

var codeSpan = regexp.MustCompile("`[^`]*`")

// TestTheDocsQuoteOnlyMeasuredFigures: every figure in the docs is quoted
// from docs/bench-figures.json, which make bench writes, through a marker;
// go test -run TestTheDocsQuoteOnlyMeasuredFigures -update rewrites the
// quotes after a new run. A figure retyped by hand is refused: any
// decimal measurement outside a marker, and a number in a figure's unit on
// a line that names that figure.
func TestTheDocsQuoteOnlyMeasuredFigures(t *testing.T) {
	b, err := os.ReadFile("../../docs/bench-figures.json")
	if err != nil {
		t.Fatal(err)
	}
	var figs benchFigures
	if err := json.Unmarshal(b, &figs); err != nil {
		t.Fatalf("docs/bench-figures.json: %v", err)
	}
	units := map[string]string{} // a figure's unit, by name
	for _, r := range figs.Runs {
		for n, f := range r.Figures {
			units[n] = f.Unit
		}
	}
	stale := false
	for _, path := range userDocs(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(raw)
		name := strings.TrimPrefix(path, "../../")
		var bad []string
		updated := figMarker.ReplaceAllStringFunc(doc, func(m string) string {
			sm := figMarker.FindStringSubmatch(m)
			want, err := figs.quote(sm[1], sm[2])
			if err != nil {
				bad = append(bad, err.Error())
				return m
			}
			if sm[3] != want {
				stale = true
				if !*updateDocs {
					t.Errorf("%s: %s quotes %q; docs/bench-figures.json gives %q", name, sm[0], sm[3], want)
				}
			}
			return strings.Replace(m, ">"+sm[3]+"<", ">"+want+"<", 1)
		})
		for _, e := range bad {
			t.Errorf("%s: %s", name, e)
		}
		if *updateDocs && updated != doc {
			if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for i, line := range proseLines(doc) {
			if line == "" {
				continue
			}
			plain := figMarker.ReplaceAllString(line, "")
			// On a line that names a figure, a number in its unit (a
			// decimal, for a figure without one) is that figure retyped.
			named := map[string]bool{}
			for _, s := range codeSpan.FindAllString(plain, -1) {
				if u, ok := units[strings.Trim(s, "`")]; ok {
					named[u] = true
				}
			}
			plain = codeSpan.ReplaceAllString(plain, "")
			for _, m := range measured.FindAllStringSubmatch(plain, -1) {
				if named[m[1]] && (m[1] != "" || strings.Contains(m[0], ".")) {
					t.Errorf("%s:%d: a figure retyped beside a bench figure's name (quote it with <!--fig NAME-->): %q", name, i+1, m[0])
				}
			}
			if decimalMeasured.MatchString(plain) {
				t.Errorf("%s:%d: a measurement retyped (quote it from docs/bench-figures.json with <!--fig NAME-->): %q", name, i+1, decimalMeasured.FindString(plain))
			}
		}
	}
	if stale && *updateDocs {
		t.Log("rewrote the quoted figures from docs/bench-figures.json")
	}
}

// proseLines is doc's lines with those of fenced code blocks blanked, so
// that line numbers stay those of the file.
func proseLines(doc string) []string {
	lines := strings.Split(doc, "\n")
	fence := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			lines[i] = ""
			continue
		}
		if fence {
			lines[i] = ""
		}
	}
	return lines
}
