package reconciler

// Touch marks for the next pass the ExternalSecrets that read any of
// names (and, when listing, every ExternalSecret with a find, whose result
// the change may alter) and the PushSecrets that write any of them (a
// change made in AWS is put back, as ESO does), and returns them (a
// PushSecret as "PushSecret namespace/name"). It waits for a pass in
// flight.
func (r *Reconciler) Touch(names []string, listing bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.remotes.Touched(names, listing)
	for _, id := range out {
		// Only a periodic refresh is brought forward: an OnChange, a
		// CreatedOnce or an interval of 0 is never fetched for a remote
		// change alone, as in ESO.
		if st := r.states[id]; st != nil && !st.next.IsZero() {
			st.touched = true
		}
	}
	return append(out, r.push.Touch(names)...)
}
