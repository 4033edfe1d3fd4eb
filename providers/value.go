// Package providers holds what every secret backend shares: the redacting
// Value type, references, the Provider interface and error classes.
package providers

import (
	"fmt"
)

const redacted = "[REDACTED]"

// Value is secret material. Every way of printing it prints [REDACTED], so a
// Value that reaches a log line, an error or a test failure leaks nothing.
// Bytes is the only way out and is called where the value is written into a
// Secret.
type Value struct{ b []byte }

// NewValue wraps b; the caller must not modify b afterwards.
func NewValue(b []byte) Value { return Value{b: b} }

// Bytes returns the secret bytes. Call it only to build the Secret's data.
func (v Value) Bytes() []byte { return v.b }

// Len is the length in bytes, safe to report.
func (v Value) Len() int { return len(v.b) }

func (Value) String() string               { return redacted }
func (Value) GoString() string             { return redacted }
func (Value) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (v Value) Equal(o Value) bool         { return string(v.b) == string(o.b) }
