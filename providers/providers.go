package providers

import (
	"context"
	"errors"
	"fmt"
)

// Ref names one remote value inside a store: a secret key and a version.
// Properties are extracted after the fetch, so refs that differ only by
// property cost one remote call.
type Ref struct {
	Key     string
	Version string
	// Target binds a value to where it may be written, for providers that
	// enforce it (KMS encryption context); empty for the others.
	Target Target
	// Metadata asks for the secret's tags, as a JSON object, instead of
	// its value (metadataPolicy: Fetch).
	Metadata bool
	// Found marks a reference a Finder returned: it names the remote
	// secret as it is, so Canonical is not applied to it again (a store's
	// prefix does not apply to what find lists, as in ESO).
	Found bool
}

// Query selects remote secrets for dataFrom.find; every set criterion must
// match.
type Query struct {
	Path       string            // name prefix
	NameRegexp string            // matched against the whole name
	Tags       map[string]string // exact tag values
}

// Found is one secret a Query matched: its name, and a Ref (marked Found)
// that fetches its current value.
type Found struct {
	Name string
	Ref  Ref
}

// Finder is a Provider that can list secrets.
type Finder interface {
	Find(ctx context.Context, q Query) ([]Found, error)
}

// Target is the Secret key a value is written to.
type Target struct{ Namespace, Secret, Key string }

func (r Ref) String() string {
	key := r.Key
	if len(key) > 40 {
		key = key[:24] + "…" // KMS ciphertext: long and not helpful in full
	}
	if r.Version == "" {
		return key
	}
	return key + "@" + r.Version
}

// Fetched is the outcome for one Ref: a value and its remote version id, or
// an error of a known Class.
type Fetched struct {
	Value     Value
	VersionID string
	Err       error
}

// Provider resolves references against one configured store.
type Provider interface {
	// ID names the backend and identity behind the provider. Providers with
	// the same ID are interchangeable once refs are canonical, so refs from
	// several stores can share one batch.
	ID() string
	// Canonical turns a reference as written in a manifest into the one
	// sent to the backend (the store's prefix applied, say).
	Canonical(Ref) Ref
	// Resolve fetches canonical, unique refs; the result has an entry for
	// each of them.
	Resolve(ctx context.Context, refs []Ref) map[Ref]Fetched
}

// Class sorts provider errors by what the caller should do next.
type Class string

const (
	NotFound     Class = "NotFound"      // terminal until the remote changes
	AccessDenied Class = "AccessDenied"  // terminal until permissions change
	Invalid      Class = "Invalid"       // the reference itself is wrong
	KeyMismatch  Class = "KeyMismatch"   // encrypted with a KMS key other than the one required
	Decrypt      Class = "DecryptFailed" // ciphertext not valid for this key or target
	Throttled    Class = "Throttled"     // transient
	Unavailable  Class = "Unavailable"   // transient: network, 5xx, timeouts
)

// Transient reports whether retrying later can succeed without any change.
func (c Class) Transient() bool { return c == Throttled || c == Unavailable }

// Error is a classified failure for one reference. It never holds a value.
type Error struct {
	Class Class
	Ref   string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.Class, e.Ref, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Scrub is e with its cause scrubbed (internal/scrub), its class kept.
func (e *Error) Scrub(scrub func(error) error) error {
	return &Error{Class: e.Class, Ref: e.Ref, Err: scrub(e.Err)}
}

// ClassOf returns the class of a provider error; unknown errors count as
// Unavailable so that they are retried rather than trusted.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Unavailable
}

// Describer is a Provider that can confirm a reference exists without
// reading its value.
type Describer interface {
	Describe(ctx context.Context, ref Ref) error
}
