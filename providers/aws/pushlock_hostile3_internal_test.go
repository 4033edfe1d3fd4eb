package aws

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A repo writer's PushSecrets choose the remote names, so the push locks
// must hold no memory for a name once no push holds or waits for it (a
// name a pass pushes once is never locked again), let a push waiting for
// a name give up when its pass ends (a push stuck on AWS holds the turn
// until its own call times out), and let only one push of a name run at
// a time: 64 pushes over 4 names, a third of them giving up while
// waiting, each name's turns never overlap and every entry is gone after.
func TestPushLocksHoldOneTurnANameAndForgetNamesNoneWaitsFor(t *testing.T) {
	var l remoteLocks
	unlock, err := l.lock(context.Background(), "held")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(ctx, "held"); err == nil {
		t.Fatal("a second push of a held name took a turn")
	}
	unlock()

	var inTurn [4]atomic.Int32
	var overlaps atomic.Int32
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			ctx := context.Background()
			if i%3 == 0 {
				c, cancel := context.WithTimeout(ctx, time.Duration(i%5)*time.Millisecond)
				defer cancel()
				ctx = c
			}
			k := i % 4
			unlock, err := l.lock(ctx, remoteKey("secretsmanager", "us-east-1", fmt.Sprintf("app/%d", k)))
			if err != nil {
				return
			}
			if inTurn[k].Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inTurn[k].Add(-1)
			unlock()
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d pushes of one name ran in another's turn", n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) != 0 {
		t.Fatalf("%d names still held after every push ended: %v", len(l.held), l.held)
	}
}
