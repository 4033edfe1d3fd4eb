package providers

import (
	"context"

	"github.com/secretsync/secretsync/providers/aws/awsservice"
)

// ManagedByTag and ManagedByValue are the tag ESO's AWS provider sets on
// every secret a PushSecret creates, and requires before it overwrites or
// deletes one; secretsync sets and requires the same, so a secret either
// of them pushed stays manageable by the other, and no other is touched.
const (
	ManagedByTag   = awsservice.ManagedByTag
	ManagedByValue = awsservice.ManagedByValue
)

// NotManaged is the class of a push or delete refused because the remote
// secret exists without the managed-by tag: it was not made by a push.
const NotManaged Class = "NotManaged"

// Push is one value to write to a remote secret.
type Push struct {
	// Key is the remote secret's name, canonical (the store's prefix applied).
	Key string
	// Property, when set, writes Value into that key of the remote JSON
	// object (dots nest), keeping its other keys.
	Property string
	Value    []byte
	// Replace are the paths on Property's way ("" the whole secret, "db"
	// for db.user) that pushes leaving Git wrote: a value there that is no
	// JSON object is replaced by the object Property nests in, where a push
	// otherwise refuses to write through it.
	Replace []string
	// Keep, when Replace holds "" (a row leaving Git pushed the whole
	// secret), are the properties PushSecrets in Git write into it: every
	// other key of its JSON object was the old whole push's, and goes.
	Keep []string
	// IfNotExists leaves a remote secret that exists as it is, whoever made it.
	IfNotExists bool
	// Metadata is the data entry's metadata as written in Git (JSON, nil when
	// absent): what it means (format, key, tags, tier) is the provider's to decode
	// and refuse by name.
	Metadata []byte
	// ResourcePolicy is the text of the resource policy Metadata's
	// policySourceRef names, read by the caller in the PushSecret's own
	// namespace; nil when Metadata names none (a push whose metadata names
	// one refuses a nil text). Empty text removes the policy.
	ResourcePolicy *string
}

// Pushed says what a push did.
type Pushed string

const (
	Created   Pushed = "created"
	Updated   Pushed = "updated"   // a new version
	Unchanged Pushed = "unchanged" // the current version holds the value: nothing written
	Exists    Pushed = "exists"    // IfNotExists, and the secret exists: nothing written
	Retagged  Pushed = "retagged"  // the value unchanged, the tags or resource policy set to the metadata's: no new version
)

// Pusher is a Provider that can write to its store.
type Pusher interface {
	Push(ctx context.Context, p Push) (Pushed, error)
	// DeleteRemote deletes the remote secret key (canonical) if it carries
	// the managed-by tag; gone reports it was already absent or scheduled
	// for deletion. One without the tag is refused (NotManaged).
	DeleteRemote(ctx context.Context, key string) (gone bool, err error)
}

// PropertyDeleter is a Pusher that can take properties out of a remote JSON
// secret, for deletionPolicy Delete of entries that pushed properties.
type PropertyDeleter interface {
	// DeleteProperties removes properties (dots nest) from the JSON object
	// the remote secret key (canonical) holds, if it carries the managed-by
	// tag (one without it is refused: NotManaged), keeping its other keys;
	// one left with no key is deleted as DeleteRemote deletes.
	DeleteProperties(ctx context.Context, key string, properties []string) (Unset, error)
	// WouldDeleteProperties is what DeleteProperties would do, with read
	// calls only (for diff).
	WouldDeleteProperties(ctx context.Context, key string, properties []string) (Unset, error)
}

// Unset says what DeleteProperties did.
type Unset string

const (
	UnsetNothing    Unset = "nothing"    // absent, scheduled for deletion, or none of the properties there
	UnsetProperties Unset = "properties" // a new version without them
	UnsetDeleted    Unset = "deleted"    // no key was left: the secret was deleted
)

// WouldPusher is a Pusher that can say what Push(p) would do (or why it
// would refuse), decided the same way and reading only: no write call, no
// new version (diff asks it).
type WouldPusher interface {
	WouldPush(ctx context.Context, p Push) (Pushed, error)
}

// Owner is a Pusher that can say, reading no value, what a push or delete
// of a remote secret would find (plan --check-remote asks it).
type Owner interface {
	Owner(ctx context.Context, key string) (Remote, error)
}

// Remote is what Owner finds of a remote secret.
type Remote struct {
	Exists bool
	Ours   bool // it carries the managed-by tag
	// Deleting: scheduled for deletion (Secrets Manager's DeletedDate); a
	// push is refused until it is restored or its recovery window ends.
	Deleting bool
}
