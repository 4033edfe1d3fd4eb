package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/inventory"
)

// status -o json indents the rows as the record holds them (what
// encoding/json writes for a Status) and writes exactly the bytes
// writeData writes for the decoded rows, with none, one or many rows.
func TestStatusJSONIsWriteData(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var rows []inventory.Status
	for i := range 1001 {
		rows = append(rows, inventory.Status{ExternalSecret: fmt.Sprintf("ns/es-%d", i), Source: "a.yaml", Target: fmt.Sprintf("ns/s-%d", i),
			LastSync: &now, Versions: inventory.Versions{{Ref: "prod/x", ID: "v1"}}, Ready: i%3 != 0, Reason: "Synced", Message: "a \"quoted\" null"})
	}
	for _, n := range []int{0, 1, 2, 1001} {
		st := statusJSON{Revision: "nullable@sha1:0123", Suspended: n == 1, ExternalSecrets: append([]inventory.Status{}, rows[:n]...)}
		var want, got bytes.Buffer
		if err := writeData(&want, "json", st); err != nil {
			t.Fatal(err)
		}
		rows := newJSONRows(&got)
		for _, r := range st.ExternalSecrets {
			stored, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := rows.add(st, stored); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.end(st); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%d rows: got\n%.600s\nwant\n%.600s", n, got.String(), want.String())
		}
	}
}
