package providers

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// Property returns the gjson path property of a JSON value, or the whole
// value when property is empty. A string result is returned raw; objects,
// arrays and numbers keep their JSON text, as External Secrets Operator does.
func Property(v Value, property string) (Value, error) {
	if property == "" {
		return v, nil
	}
	if !gjson.ValidBytes(v.b) {
		return Value{}, fmt.Errorf("property %q asked of a value that is not JSON", property)
	}
	// As ESO: a dotted property is first looked up as one literal key.
	if strings.Contains(property, ".") {
		if r := gjson.GetBytes(v.b, strings.ReplaceAll(property, ".", `\.`)); r.Exists() {
			return NewValue(propertyBytes(r)), nil
		}
	}
	r := gjson.GetBytes(v.b, property)
	if !r.Exists() {
		return Value{}, fmt.Errorf("property %q not found", property)
	}
	return NewValue(propertyBytes(r)), nil
}

// propertyBytes is a property's text as ESO gives it (gjson's String): a
// number that is not a plain integer is printed as the shortest decimal
// (1.50 is "1.5", 1e3 is "1000"); everything else as resultBytes.
func propertyBytes(r gjson.Result) []byte {
	if r.Type == gjson.Number {
		return []byte(r.String())
	}
	return resultBytes(r)
}

// Extract turns a JSON object into one value per top-level key; nested
// objects and arrays stay JSON text.
func Extract(v Value) (map[string]Value, error) {
	if !gjson.ValidBytes(v.b) {
		return nil, fmt.Errorf("extract needs a JSON object, and the value is not JSON")
	}
	r := gjson.ParseBytes(v.b)
	if !r.IsObject() {
		return nil, fmt.Errorf("extract needs a JSON object, and the value is a JSON %s", r.Type)
	}
	out := map[string]Value{}
	r.ForEach(func(k, val gjson.Result) bool {
		out[k.String()] = NewValue(resultBytes(val))
		return true
	})
	return out, nil
}

func resultBytes(r gjson.Result) []byte {
	switch r.Type {
	case gjson.String:
		return []byte(r.Str)
	case gjson.Null:
		return nil
	default:
		return []byte(r.Raw)
	}
}
