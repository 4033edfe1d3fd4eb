package inventory

import (
	"bytes"
	"compress/gzip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func collect[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for row, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, row)
	}
	return out, nil
}

// A record held decoded and one held as its bytes give the same rows, in
// the same order; SameEntries tells its entries from others.
func TestRecordRowsHeldOrAsBytes(t *testing.T) {
	inv := bigInventory(50, false)
	inv.Pushed = []PushRow{{PushSecret: "a/p", Store: "SecretStore/a/aws", RemoteKey: "k"}}
	raw, err := Encode(inv)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := Checked(raw)
	if err != nil || streamed.Raw() == nil || len(streamed.Inventory.Entries) != 0 {
		t.Fatalf("Checked kept rows or no bytes (%v)", err)
	}
	for name, rec := range map[string]*Record{"held": {Inventory: inv}, "bytes": streamed} {
		entries, err := collect(rec.Entries())
		if err != nil || !cmp.Equal(entries, inv.Entries) {
			t.Errorf("%s: entries differ (%v)", name, err)
		}
		statuses, err := collect(rec.Statuses())
		if err != nil || !cmp.Equal(statuses, inv.Status) {
			t.Errorf("%s: statuses differ (%v)", name, err)
		}
		if pushed, err := rec.Pushed(); err != nil || !cmp.Equal(pushed, inv.Pushed) {
			t.Errorf("%s: pushed rows differ (%v)", name, err)
		}
		for _, c := range []struct {
			entries []Entry
			want    bool
		}{{inv.Entries, true}, {inv.Entries[1:], false}, {append(slices.Clone(inv.Entries), Entry{Name: "more"}), false}, {nil, false}} {
			if same, err := rec.SameEntries(c.entries); same != c.want || err != nil {
				t.Errorf("%s: SameEntries of %d entries = %v (%v), want %v", name, len(c.entries), same, err, c.want)
			}
		}
	}
}

// Rows that cannot be read again end each iterator with the error, after
// the rows read; Pushed (its rows go first) and SameEntries return it; a caller that stops
// early gets no error pair.
func TestRecordIteratorsReturnTheReadError(t *testing.T) {
	raw, err := Encode(bigInventory(3, false))
	if err != nil {
		t.Fatal(err)
	}
	plain := gunzip(t, raw)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(plain[:bytes.Index(plain, []byte(`"entries":`))+len(`"entries":[{"namespace":`)])
	zw.Close()
	rec := &Record{raw: b.Bytes()} // as if memory failed after Checked
	statuses, err := collect(rec.Statuses())
	if err != nil || len(statuses) != 3 {
		t.Fatalf("status rows before the cut: %d (%v)", len(statuses), err)
	}
	if entries, err := collect(rec.Entries()); err == nil || len(entries) != 0 {
		t.Fatalf("entries past the cut: %d rows, error %v", len(entries), err)
	}
	if pushed, err := rec.Pushed(); err != nil || len(pushed) != 0 {
		t.Errorf("push rows (none, before the cut): %d (%v)", len(pushed), err)
	}
	cutPushed := &Record{raw: gzipped(`{"revision":"r","pushed":[{"pushSecret":"ns/a"},{"pushSec`)}
	if _, err := cutPushed.Pushed(); err == nil {
		t.Error("Pushed read past the cut without an error")
	}
	if same, err := rec.SameEntries(nil); same || err == nil {
		t.Errorf("SameEntries past the cut = %v, %v", same, err)
	}
	for _, err := range rec.Statuses() {
		if err != nil {
			t.Fatal("an iterator stopped early yielded an error")
		}
		break
	}
}

func gunzip(t *testing.T, raw []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}
