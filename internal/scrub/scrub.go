// Package scrub is the one redactor for text that leaves the process: a
// pass learns every value it resolves, decrypts, generates or reads for a
// template, and every string it logs, records or reports goes through
// String or Error, which replace each occurrence with Marker.
//
// A Redactor keeps no value: it keeps a 64-bit rolling hash of each form
// a value can take in text (as is, Go-quoted, JSON-escaped), grouped by
// length, so that a pass over 50,000 Secrets holds a few bytes per value
// rather than the values (DEVELOPERS.md, "What a pass holds in memory").
// Matching hashes every window of a string of each known length: a value
// in the text always matches, and a collision only redacts innocent text.
package scrub

import (
	"encoding/json"
	"errors"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Marker replaces a value in scrubbed text.
const Marker = "[REDACTED]"

// MinLen is the shortest value that is redacted. Shorter ones ("1",
// "yes") would take innocent text out of every message and say little.
const MinLen = 4

// Redactor knows one pass's values. Its methods are safe for concurrent
// use, and a nil Redactor knows no value.
type Redactor struct {
	mu    sync.RWMutex
	base  uint64
	byLen map[int]map[uint64]bool
}

// New returns a Redactor that knows no value yet.
func New() *Redactor {
	var seed maphash.Hash
	return &Redactor{base: seed.Sum64() | 1, byLen: map[int]map[uint64]bool{}}
}

// Add makes v, and the forms it takes when quoted in text, known.
func (r *Redactor) Add(v []byte) {
	if r == nil || len(v) < MinLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A value is often added twice in a pass (as fetched, then as assembled
	// data): its quoted forms were made the first time.
	if !r.add(v, true) {
		return
	}
	if !plain(v) {
		for _, f := range forms(string(v)) {
			r.add([]byte(f), false)
		}
	}
}

// AddString is Add for a string.
func (r *Redactor) AddString(s string) {
	if r == nil || len(s) < MinLen {
		return
	}
	r.Add([]byte(s))
}

// add makes v's bytes known; whole says v was added as a value (its quoted
// forms are made by the caller), not as a form of another. It reports
// whether v was not yet known as a value.
func (r *Redactor) add(v []byte, whole bool) bool {
	if len(v) < MinLen {
		return false
	}
	set := r.byLen[len(v)]
	if set == nil {
		set = map[uint64]bool{}
		r.byLen[len(v)] = set
	}
	h := r.hash(v)
	was := set[h]
	set[h] = was || whole
	return !was
}

// plain reports a value that every quoting leaves as it is.
func plain(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c == '\'' {
			return false
		}
	}
	return true
}

// forms are the ways text quotes s: %q (Go errors, the API server's field
// errors) and JSON (logs, API responses), and both.
func forms(s string) []string {
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	out := []string{q, jsonInner(s, true), jsonInner(s, false), jsonInner(q, false), jsonInner(q, true)}
	slices.Sort(out)
	return slices.Compact(out)
}

func jsonInner(s string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s)
	j := strings.TrimSuffix(b.String(), "\n")
	return j[1 : len(j)-1]
}

func (r *Redactor) hash(v []byte) uint64 {
	var h uint64
	for _, c := range v {
		h = h*r.base + uint64(c)
	}
	return h
}

// String returns s with every known value replaced by Marker.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < MinLen {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var hits [][2]int
	for n, set := range r.byLen {
		if n > len(s) {
			continue
		}
		// pow is base^(n-1), to take the leaving byte out of the window.
		pow := uint64(1)
		for range n - 1 {
			pow *= r.base
		}
		h := r.hash([]byte(s[:n]))
		for i := 0; ; i++ {
			if _, ok := set[h]; ok {
				hits = append(hits, [2]int{i, i + n})
			}
			if i+n == len(s) {
				break
			}
			h = (h-uint64(s[i])*pow)*r.base + uint64(s[i+n])
		}
	}
	if len(hits) == 0 {
		return s
	}
	slices.SortFunc(hits, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	at := 0
	for i := 0; i < len(hits); {
		start, end := hits[i][0], hits[i][1]
		for i++; i < len(hits) && hits[i][0] <= end; i++ {
			end = max(end, hits[i][1])
		}
		b.WriteString(s[at:start])
		b.WriteString(Marker)
		at = end
	}
	b.WriteString(s[at:])
	return b.String()
}

// Error returns err unchanged when its text holds no known value, and
// otherwise an error whose text is scrubbed and whose chain no longer
// holds the original: it keeps, scrubbed too, the first Kubernetes API
// status (so apierrors.IsConflict and the like still answer) and the
// first error that can scrub itself (a provider's classified error).
func (r *Redactor) Error(err error) error {
	if r == nil || err == nil {
		return err
	}
	msg := err.Error()
	clean := r.String(msg)
	if clean == msg {
		return err
	}
	out := &scrubbed{msg: clean}
	var status apierrors.APIStatus
	var self Scrubber
	switch {
	case errors.As(err, &self):
		out.inner = self.Scrub(r.Error)
	case errors.As(err, &status):
		out.inner = &apierrors.StatusError{ErrStatus: r.status(status.Status())}
	}
	return out
}

// Scrubber is an error that can rebuild itself with its parts scrubbed,
// keeping its type: a provider's classified error.
type Scrubber interface {
	error
	Scrub(scrub func(error) error) error
}

func (r *Redactor) status(s metav1.Status) metav1.Status {
	s.Message = r.String(s.Message)
	if s.Details != nil {
		d := *s.Details
		d.Name = r.String(d.Name)
		d.Causes = slices.Clone(d.Causes)
		for i := range d.Causes {
			d.Causes[i].Message = r.String(d.Causes[i].Message)
			d.Causes[i].Field = r.String(d.Causes[i].Field)
		}
		s.Details = &d
	}
	return s
}

type scrubbed struct {
	msg   string
	inner error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.inner }
