package inventory

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A push row's synced digest and check time (what a restart trusts) are
// written and read back, streamed and whole; a row of an older record,
// without them, reads as zero (pushed again, as before) and is written
// without them.
func TestPushRowSyncedAndCheckedRoundTripAndOldRowsReadAsZero(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rows := []PushRow{
		{PushSecret: "a/new", Store: "SecretStore/a/aws", RemoteKey: "k", Ready: true, Synced: "00ff", Checked: &at},
		{PushSecret: "a/old", Store: "SecretStore/a/aws", RemoteKey: "k", Ready: true},
	}
	roundTripPushRows(t, rows, "synced")
}

// A push row's remote name (what its push wrote, the store's prefix
// applied; what a deletion deletes) is written and read back, streamed and
// whole; a row of an older record, without it, reads as empty and is
// written without it.
func TestPushRowRemoteNameRoundTripsAndOldRowsReadAsEmpty(t *testing.T) {
	rows := []PushRow{
		{PushSecret: "a/new", Store: "SecretStore/a/aws", RemoteKey: "k", RemoteName: "team-a/k", Ready: true},
		{PushSecret: "a/old", Store: "SecretStore/a/aws", RemoteKey: "k", Ready: true},
	}
	roundTripPushRows(t, rows, "remoteName")
	if rows[0].Written() != "SecretStore/a/aws\x00team-a/k" || rows[1].Written() != "" {
		t.Errorf("Written: %q %q", rows[0].Written(), rows[1].Written())
	}
}

// roundTripPushRows writes rows in a record and reads them back, streamed
// and whole, each as written, and checks that field is written for the
// first row only (the second is an older record's, without it).
func roundTripPushRows(t *testing.T, rows []PushRow, field string) {
	t.Helper()
	raw, err := Encode(Inventory{Revision: "r", Entries: []Entry{}, Pushed: rows})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Checked(raw)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := rec.Pushed()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]PushRow{"streamed": streamed, "whole": whole.Pushed} {
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("%s (-wrote +read):\n%s", name, diff)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	if n := strings.Count(string(text), `"`+field+`"`); n != 1 {
		t.Errorf("%d %s fields written; want the new row's only: %s", n, field, text)
	}
}
