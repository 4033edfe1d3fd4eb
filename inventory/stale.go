package inventory

import "iter"

// Split is what a pass does with each entry of the inventory it started
// from, given what it applied and what Git holds.
type Split struct {
	// Kept: in Git but failing (blocked), recorded again as they were.
	Kept []Entry
	// Released: in Git under a policy that does not own the target
	// (Orphan, Merge, None), or applied by no owner: left alone, and
	// forgotten once marked orphaned.
	Released []Entry
	// Stale: their ExternalSecret left Git; the prune candidates.
	Stale []Entry
	// Recorded counts the entries read, for the prune budget.
	Recorded int
}

// Stale splits the old inventory's entries. An entry whose target was
// applied under an owning policy (applied[k] true) is neither kept nor
// released: the pass records it afresh. key maps an entry to the caller's
// key type, so that the caller's maps are asked as they are.
//
// A read error of old ends the split and is returned with what was read so
// far: the caller must then prune and release nothing, since an entry it
// did not read may be one it would keep.
func Stale[K comparable](old iter.Seq2[Entry, error], key func(Entry) K, applied, rendered, blocked map[K]bool) (Split, error) {
	var s Split
	for e, err := range old {
		if err != nil {
			return s, err
		}
		s.Recorded++
		k := key(e)
		switch {
		case applied[k]:
		case blocked[k]:
			s.Kept = append(s.Kept, e)
		case rendered[k]:
			s.Released = append(s.Released, e)
		default:
			s.Stale = append(s.Stale, e)
		}
	}
	return s, nil
}
