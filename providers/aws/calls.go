package aws

import (
	"fmt"
	"sort"
	"sync"

	"github.com/secretsync/secretsync/providers"
)

// PricePer10k is what AWS charges, in USD, for 10,000 Secrets Manager API
// calls of any kind.
const PricePer10k = 0.05

// Calls counts AWS API calls by operation and outcome.
type Calls struct {
	mu sync.Mutex
	n  map[string]int64 // "<op> <outcome>"
}

func (c *Calls) add(op string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = string(providers.ClassOf(classify("", err)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op+" "+outcome]++
}

// Snapshot returns the counts by "<operation> <outcome>".
func (c *Calls) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// Total is the number of calls of any kind and outcome.
func (c *Calls) Total() int64 {
	var t int64
	for _, v := range c.Snapshot() {
		t += v
	}
	return t
}

// CostUSD estimates what the calls so far cost.
func (c *Calls) CostUSD() float64 { return float64(c.Total()) * PricePer10k / 10000 }

func (c *Calls) String() string {
	snap := c.Snapshot()
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for _, k := range keys {
		s += fmt.Sprintf("%s=%d ", k, snap[k])
	}
	return s
}
