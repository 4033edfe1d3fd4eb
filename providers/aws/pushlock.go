package aws

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/smithy-go"

	"github.com/secretsync/secretsync/providers"
)

// remoteLocks serializes, within a process, the pushes and deletes of one
// remote secret. Each reads the secret, decides and writes; two at once
// (two PushSecrets, or two entries, writing two properties of one secret,
// pushed concurrently) would both create it, or each write it back without
// the other's property. The Factory holds one set for every provider it
// makes, so stores of other identities in the same region share it too.
type remoteLocks struct {
	mu   sync.Mutex
	held map[string]*remoteLock
}

// remoteLock is one remote secret's turn: a token in ch, and how many
// pushes hold or wait for it (the entry goes when none does).
type remoteLock struct {
	ch    chan struct{}
	users int
}

// lock waits for key's turn, or ctx's end; unlock ends the turn.
func (l *remoteLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*remoteLock{}
	}
	rl := l.held[key]
	if rl == nil {
		rl = &remoteLock{ch: make(chan struct{}, 1)}
		l.held[key] = rl
	}
	rl.users++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if rl.users--; rl.users == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
	select {
	case rl.ch <- struct{}{}:
		return func() { <-rl.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// turn waits for key's turn (lock); a wait the pass's end cuts short is
// Unavailable for ref, the remote secret's name in errors.
func (l *remoteLocks) turn(ctx context.Context, key, ref string) (unlock func(), err error) {
	if unlock, err = l.lock(ctx, key); err != nil {
		return nil, &providers.Error{Class: providers.Unavailable, Ref: ref, Err: err}
	}
	return unlock, nil
}

// pushInTurn runs pushOnce in key's turn, and once more when another
// process won its create meanwhile (raced).
func (l *remoteLocks) pushInTurn(ctx context.Context, key, ref string, pushOnce func() (providers.Pushed, error)) (providers.Pushed, error) {
	unlock, err := l.turn(ctx, key, ref)
	if err != nil {
		return "", err
	}
	defer unlock()
	did, err := pushOnce()
	if errors.As(err, new(raced)) {
		did, err = pushOnce()
	}
	return did, err
}

// remoteKey is the lock key of remote secret name of service in region.
func remoteKey(service, region, name string) string {
	return service + "\x00" + region + "\x00" + name
}

// raced is a create refused because the secret or parameter exists: made,
// since the push found it missing, by another process (the locks serialize
// this one's pushes). Push then decides again, once: it reads what the
// other made and writes into it.
type raced struct{ error }

func (r raced) Unwrap() error { return r.error }

// madeMeanwhile reports an SDK error that is a raced create.
func madeMeanwhile(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "ResourceExistsException", "ParameterAlreadyExists":
		return true
	}
	return false
}
