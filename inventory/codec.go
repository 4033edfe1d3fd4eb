package inventory

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Encode writes a record: gzipped JSON, the push rows, then the status
// rows, then the entries.
func Encode(inv Inventory) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	// Row by row, as Decode reads it: encoding the record as one
	// value would build all of its JSON in memory before compressing it.
	rev, err := json.Marshal(inv.Revision)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(zw, `{"revision":%s,`, rev)
	// The push rows always, null when there are none: a reader of the
	// status rows then has them when it reaches the status rows, and
	// knows there are no more (readStatusRows).
	fmt.Fprint(zw, `"pushed":`)
	if err := encodeRows(zw, inv.Pushed); err != nil {
		return nil, err
	}
	fmt.Fprint(zw, `,`)
	if len(inv.Status) > 0 {
		fmt.Fprint(zw, `"status":`)
		if err := encodeRows(zw, inv.Status); err != nil {
			return nil, err
		}
		fmt.Fprint(zw, `,`)
	}
	fmt.Fprint(zw, `"entries":`)
	if err := encodeRows(zw, inv.Entries); err != nil {
		return nil, err
	}
	fmt.Fprintln(zw, "}")
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads a whole record.
func Decode(raw []byte) (Inventory, error) {
	var inv Inventory
	err := decodeInto(raw, &inv)
	return inv, err
}

func decodeInto(raw []byte, inv *Inventory) error {
	return walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			err = dec.Decode(&inv.Revision)
		case "entries":
			inv.Entries, err = decodeRows[Entry](dec)
		case "status":
			inv.Status, err = decodeRows[Status](dec)
		case "pushed":
			inv.Pushed, err = decodeRows[PushRow](dec)
		default:
			err = skipField(field, dec)
		}
		return err
	})
}

// check decodes every row of a record, as Decode does, and keeps none: it
// returns the record's revision.
func check(raw []byte) (revision string, err error) {
	err = walkRecord(raw, func(field string, dec *json.Decoder) (err error) {
		switch field {
		case "revision":
			err = dec.Decode(&revision)
		case "entries":
			_, err = streamRows(dec, func(*Entry) error { return nil })
		case "pushed":
			_, err = streamRows(dec, func(*PushRow) error { return nil })
		case "status":
			_, err = streamRows(dec, func(*Status) error { return nil })
		default:
			err = skipField(field, dec)
		}
		return err
	})
	return revision, err
}

// walkRecord reads a record's top-level object, handing the decoder to
// field at each field, which must read its value. Row by row: decoding
// the record as one value would hold all of its JSON (megabytes at 10,000
// rows) in the decoder's buffer.
func walkRecord(raw []byte, field func(name string, dec *json.Decoder) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(zr, 64<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		if err := field(name, dec); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// skipField reads past a field's value; a list of rows a row at a time.
func skipField(name string, dec *json.Decoder) error {
	if name == "entries" || name == "status" || name == "pushed" {
		_, err := streamRows(dec, func(*json.RawMessage) error { return nil })
		return err
	}
	var skip json.RawMessage
	return dec.Decode(&skip)
}

// errStopped ends a walk whose reader has what it wanted.
var errStopped = errors.New("stopped")

// streamField hands yield the rows of one list field of a record, one at
// a time, until it returns false. It reads no further than that field:
// the record was checked whole when it was loaded.
func streamField[T any](raw []byte, name string, yield func(T) bool) error {
	err := walkRecord(raw, func(field string, dec *json.Decoder) error {
		if field != name {
			return skipField(field, dec)
		}
		_, err := streamRows(dec, func(row *T) error {
			if !yield(*row) {
				return errStopped
			}
			return nil
		})
		if err != nil {
			return err
		}
		return errStopped
	})
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// encodeRows writes rows as a JSON array (null when there are none, as
// encoding/json writes a nil slice).
func encodeRows[T any](w io.Writer, rows []T) error {
	if rows == nil {
		_, err := io.WriteString(w, "null")
		return err
	}
	enc := json.NewEncoder(w)
	io.WriteString(w, "[")
	for i := range rows {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if err := enc.Encode(rows[i]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]")
	return err
}

// decodeRows reads a JSON array (or null) into a slice.
func decodeRows[T any](dec *json.Decoder) ([]T, error) {
	out := []T{} // [] is an empty list, not null, as encoding/json reads it
	null, err := streamRows(dec, func(row *T) error {
		out = append(out, *row)
		return nil
	})
	if null {
		return nil, err
	}
	return out, err
}

// streamRows reads a JSON array (or null) one element at a time, handing
// each to each, and stops at the first error each returns.
func streamRows[T any](dec *json.Decoder, each func(*T) error) (null bool, err error) {
	t, err := dec.Token()
	if err != nil || t == nil {
		return t == nil, err
	}
	if t != json.Delim('[') {
		return false, fmt.Errorf("want an array, have %v", t)
	}
	for dec.More() {
		var row T
		if err := dec.Decode(&row); err != nil {
			return false, err
		}
		if err := each(&row); err != nil {
			return false, err
		}
	}
	return false, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %v, have %v", d, t)
	}
	return nil
}
