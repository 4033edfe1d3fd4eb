// Package intern makes equal strings one copy. A decode allocates every
// string anew, and secretsync holds tens of thousands of decoded objects
// whose namespaces, files, kinds and reasons repeat.
package intern

import "unique"

// Strings replaces each non-empty string with its canonical copy.
func Strings(ps ...*string) {
	for _, p := range ps {
		if *p != "" {
			*p = unique.Make(*p).Value()
		}
	}
}
