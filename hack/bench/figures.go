package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The figures file (docs/bench-figures.json): every figure of the last run
// of each bench (make bench, make bench-large), so that the docs quote
// figures through markers a test resolves instead of retyping them.

type figuresFile struct {
	Comment string                `json:"comment"`
	Runs    map[string]*runRecord `json:"runs"`
}

type runRecord struct {
	Commit  string                  `json:"commit"`
	Date    string                  `json:"date"`
	Go      string                  `json:"go"`
	CPUs    int                     `json:"cpus"`
	Sizes   string                  `json:"sizes"`
	Figures map[string]figureRecord `json:"figures"`
}

type figureRecord struct {
	Value  float64       `json:"value"`
	Unit   string        `json:"unit,omitempty"`
	Min    *float64      `json:"min,omitempty"`
	Max    *float64      `json:"max,omitempty"`
	Target *targetRecord `json:"target,omitempty"`
	Note   string        `json:"note,omitempty"`
	// Measured is set on a figure merged in by a run of some scenarios
	// (-scenarios): its commit and date, which the run's own may not be.
	Measured string `json:"measured,omitempty"`
}

type targetRecord struct {
	AtLeast bool    `json:"atLeast"`
	Value   float64 `json:"value"`
	Met     bool    `json:"met"`
}

const figuresComment = "written by make bench and make bench-large (hack/bench -figures); the docs quote these through <!--fig NAME--> markers that go test ./cmd/secretsync -run TestTheDocsQuoteOnlyMeasuredFigures checks; do not edit"

func recordOf(f figure) figureRecord {
	r := figureRecord{Value: f.value, Unit: f.unit, Note: f.note}
	if f.spread != "" {
		lo, hi := f.min, f.max
		r.Min, r.Max = &lo, &hi
	}
	if t, ok := targets[f.name]; ok {
		met := f.value <= t.v
		if t.atLeast {
			met = f.value >= t.v
		}
		r.Target = &targetRecord{AtLeast: t.atLeast, Value: t.v, Met: met}
	}
	return r
}

// writeFigures replaces run name's record in path with figs, keeping the
// other runs' records.
func writeFigures(path, name string, run runRecord, figs []figure) error {
	file, err := readFigures(path)
	if err != nil {
		return err
	}
	run.Figures = map[string]figureRecord{}
	for _, f := range figs {
		run.Figures[f.name] = recordOf(f)
	}
	file.Runs[name] = &run
	return saveFigures(path, file)
}

// mergeFigures adds figs to run name's record in path, replacing those of
// the same names and keeping the others and the record's commit and date:
// a run of some scenarios does not erase the last full run's figures. Each
// merged figure says when it was measured.
func mergeFigures(path, name string, run runRecord, figs []figure) error {
	file, err := readFigures(path)
	if err != nil {
		return err
	}
	old := file.Runs[name]
	if old == nil {
		old = &run
	}
	if old.Figures == nil {
		old.Figures = map[string]figureRecord{}
	}
	for _, f := range figs {
		r := recordOf(f)
		r.Measured = fmt.Sprintf("commit %s on %s, -scenarios run", run.Commit, run.Date)
		old.Figures[f.name] = r
	}
	file.Runs[name] = old
	return saveFigures(path, file)
}

func readFigures(path string) (figuresFile, error) {
	file := figuresFile{Runs: map[string]*runRecord{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return file, err
	default:
		if err := json.Unmarshal(b, &file); err != nil {
			return file, fmt.Errorf("figures file %s: %w", path, err)
		}
	}
	if file.Runs == nil {
		file.Runs = map[string]*runRecord{}
	}
	return file, nil
}

func saveFigures(path string, file figuresFile) error {
	file.Comment = figuresComment
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// thisRun describes the run being made: the tree's commit, now, this machine.
func thisRun(sizes string) runRecord {
	commit := "unknown"
	if out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	return runRecord{Commit: commit, Date: time.Now().UTC().Format("2006-01-02"), Go: runtime.Version(),
		CPUs: runtime.NumCPU(), Sizes: sizes}
}

// figuresFromLog reads the figures of a saved make bench output: its
// `bench:` lines, the notes of its table, and the commit of its build line
// (`-X main.version=<commit>`), so a run made before the figures file
// existed can be recorded without measuring again.
func figuresFromLog(path string) (runRecord, []figure, error) {
	f, err := os.Open(path)
	if err != nil {
		return runRecord{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return runRecord{}, nil, err
	}
	run := runRecord{Commit: "unknown", Date: st.ModTime().UTC().Format("2006-01-02"), Go: runtime.Version(), CPUs: runtime.NumCPU()}
	notes := map[string]string{}
	var figs []figure
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if _, v, ok := strings.Cut(line, "-X main.version="); ok {
			run.Commit = strings.Trim(strings.Fields(v)[0], `"`)
		}
		if _, v, ok := strings.Cut(line, "go run ./hack/bench -sizes "); ok {
			run.Sizes = strings.Fields(v)[0]
		}
		if rest, ok := strings.CutPrefix(line, "bench: "); ok {
			// "bench: name value unit spread goal": empty fields keep their space.
			p := strings.SplitN(rest, " ", 5)
			if len(p) < 4 {
				return run, nil, fmt.Errorf("%s: bad bench line %q", path, line)
			}
			v, err := strconv.ParseFloat(p[1], 64)
			if err != nil {
				return run, nil, fmt.Errorf("%s: bad value in %q: %w", path, line, err)
			}
			fg := figure{name: p[0], value: v, unit: p[2], spread: p[3]}
			if lo, hi, ok := strings.Cut(strings.Trim(p[3], "[]"), "–"); ok {
				if fg.min, err = strconv.ParseFloat(lo, 64); err != nil {
					return run, nil, fmt.Errorf("%s: bad spread in %q: %w", path, line, err)
				}
				if fg.max, err = strconv.ParseFloat(hi, 64); err != nil {
					return run, nil, fmt.Errorf("%s: bad spread in %q: %w", path, line, err)
				}
			}
			figs = append(figs, fg)
			continue
		}
		// A table row: the note starts after the fixed-width columns.
		if name, _, ok := strings.Cut(line, " "); ok && name != "" {
			if r := []rune(line); len(r) > noteColumn {
				notes[name] = strings.TrimSpace(string(r[noteColumn:]))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return run, nil, err
	}
	if len(figs) == 0 {
		return run, nil, fmt.Errorf("%s: no bench: lines", path)
	}
	for i := range figs {
		figs[i].note = notes[figs[i].name]
	}
	return run, figs, nil
}

// noteColumn is where the table's note column starts, in runes:
// "%-38s %12s  %-4s %-19s %-14s %s".
const noteColumn = 38 + 1 + 12 + 2 + 4 + 1 + 19 + 1 + 14 + 1
