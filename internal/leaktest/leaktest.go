// Package leaktest is the one leak check of the tests: text that left the
// process (logs, errors, Events, the inventory, command output) must hold
// no piece of a canary, a value the test seeded or read back from a Secret.
package leaktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/secretsync/secretsync/internal/scrub"
)

// Window is the length of the pieces looked for: any 8 bytes of a canary
// in the text is a leak, so a value cut, quoted in part or spread over
// lines still counts.
const Window = 8

// Canary returns a fresh random value: 32 hex digits, whose every 8-byte
// piece is random, so that none matches innocent text.
func Canary() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Canaries is a set of values that must not leave the process. Its
// methods are safe for concurrent use.
type Canaries struct {
	mu   sync.Mutex
	list []string
}

// Add makes each value a canary. A JSON object counts by its string
// values: its structure (key names, braces) is not secret, and its
// 8-byte pieces would match innocent text. A value shorter than MinLen is
// no canary: it would match innocent text, and secretsync's redactor
// leaves such values too (scrub.MinLen).
func (c *Canaries) Add(values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range values {
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) == nil {
			for _, x := range m {
				if s, ok := x.(string); ok && len(s) >= MinLen {
					c.list = append(c.list, s)
				}
			}
			continue
		}
		if len(v) >= MinLen {
			c.list = append(c.list, v)
		}
	}
}

// MinLen is the shortest canary.
const MinLen = scrub.MinLen

// Find returns the index of the first canary with a piece in text, and
// the offset of that piece in the canary; ok false when there is none. A
// canary shorter than Window counts only whole.
func (c *Canaries) Find(text string) (canary, offset int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, v := range c.list {
		if v == "" {
			continue
		}
		if len(v) < Window {
			if strings.Contains(text, v) {
				return i, 0, true
			}
			continue
		}
		for j := 0; j+Window <= len(v); j++ {
			if strings.Contains(text, v[j:j+Window]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// Check fails t when text, from the outlet named, holds a piece of a
// canary. The failure names the outlet and where the piece sits, never
// the piece.
func (c *Canaries) Check(t testing.TB, outlet, text string) {
	t.Helper()
	if i, off, ok := c.Find(text); ok {
		c.mu.Lock()
		n := len(c.list[i])
		c.mu.Unlock()
		at := strings.Index(text, c.list[i][off:min(off+Window, n)])
		t.Errorf("%s holds bytes %d-%d of canary #%d (%d bytes long), at offset %d of its %d bytes of text",
			outlet, off, min(off+Window, n), i, n, at, len(text))
	}
}

// Mask returns text with every piece of a canary replaced, for a test's
// failure message.
func (c *Canaries) Mask(text string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.list {
		if len(v) < Window {
			text = strings.ReplaceAll(text, v, "[CANARY]")
			continue
		}
		for j := 0; j+Window <= len(v); j++ {
			text = strings.ReplaceAll(text, v[j:j+Window], "[CANARY]")
		}
	}
	return text
}
