package inventory

import (
	"iter"
)

// Record is an inventory as a pass holds it: its rows decoded (Inventory),
// or, for one read afresh, only its bytes, read again row by row where a
// pass needs them: decoded whole, 50,000 rows weigh some 25 MB beside
// everything else a pass holds at its end. The bytes were checked whole
// when read, so reading them again fails only for want of memory; the
// iterators return that error as their last pair, and a caller that sees
// it must act on nothing it read (a pass refuses to prune and to save).
type Record struct {
	Inventory // the revision; the rows too, unless raw holds them
	raw       []byte
}

// Checked checks raw row by row and holds only its bytes and revision.
func Checked(raw []byte) (*Record, error) {
	rev, err := check(raw)
	if err != nil {
		return nil, err
	}
	return &Record{Inventory: Inventory{Revision: rev}, raw: raw}, nil
}

// Raw is the bytes the record holds instead of its rows, or nil.
func (r *Record) Raw() []byte { return r.raw }

// Entries are the record's entries, in the order it holds them.
func (r *Record) Entries() iter.Seq2[Entry, error] {
	return rows(r.Inventory.Entries, r.raw, "entries")
}

// Statuses are the record's status rows, in the order it holds them
// (ExternalSecret order, unless edited by hand).
func (r *Record) Statuses() iter.Seq2[Status, error] { return rows(r.Status, r.raw, "status") }

// Pushed is the record's push rows (a few: decoded whole).
func (r *Record) Pushed() ([]PushRow, error) {
	if r.raw == nil {
		return r.Inventory.Pushed, nil
	}
	var out []PushRow
	for row, err := range rows[PushRow](nil, r.raw, "pushed") {
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// SameEntries says whether the record's entries are entries, in order.
func (r *Record) SameEntries(entries []Entry) (bool, error) {
	i := 0
	for e, err := range r.Entries() {
		if err != nil {
			return false, err
		}
		if i == len(entries) || e != entries[i] {
			return false, nil
		}
		i++
	}
	return i == len(entries), nil
}

// rows yields held, or the rows of field read from raw, then the read
// error if there is one.
func rows[T any](held []T, raw []byte, field string) iter.Seq2[T, error] {
	if raw == nil {
		return func(yield func(T, error) bool) {
			for _, row := range held {
				if !yield(row, nil) {
					return
				}
			}
		}
	}
	return func(yield func(T, error) bool) {
		stopped := false
		err := streamField(raw, field, func(row T) bool {
			stopped = !yield(row, nil)
			return !stopped
		})
		if err != nil && !stopped {
			var zero T
			yield(zero, err)
		}
	}
}
