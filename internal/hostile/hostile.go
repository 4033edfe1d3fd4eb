// Package hostile holds inputs an attacker would commit, shared by the
// tests that refuse them and the bench that times their refusal.
package hostile

import "strings"

// AliasBomb is a ConfigMap of nine levels of YAML aliases, each nine times
// the last: about 387 million nodes when expanded, in about 440 bytes.
func AliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range "bcdefghi" {
		b.WriteString("  " + string(n) + ": &" + string(n) + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n")
		prev = string(n)
	}
	return b.String()
}
