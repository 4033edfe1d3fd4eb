package leaktest_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/leaktest"
)

func TestAnyEightBytesOfACanaryAreALeak(t *testing.T) {
	v := leaktest.Canary()
	var c leaktest.Canaries
	c.Add(v, `{"user":"`+leaktest.Canary()+`","port":5432}`, "ab")
	for _, leak := range []string{v, "x " + v[3:11] + " y", "cut: " + v[len(v)-8:]} {
		if _, _, ok := c.Find(leak); !ok {
			t.Errorf("a piece of a canary at %d bytes was not found", len(leak))
		}
	}
	for _, clean := range []string{v[:7], `"user" "port" 5432`, "ab cd", strings.Repeat("-", 40)} {
		if _, _, ok := c.Find(clean); ok {
			t.Errorf("innocent text %q was taken for a leak", clean)
		}
	}
	if got := c.Mask("a " + v + " b"); strings.Contains(got, v[:8]) || !strings.Contains(got, "[CANARY]") {
		t.Errorf("Mask left a piece: %q", got)
	}
}
