// Package same compares the objects an upsert would write with those
// stored, by content: a declarative apply or a connector sync writes an
// object, and records a change, only when it differs from what is there.
package same

import (
	"encoding/json"
	"reflect"
	"slices"
)

// Content reports whether a and b hold the same content: it compares them
// as their JSON, ignoring timestamps (created_at, updated_at) and treating
// null, empty strings, false, empty lists and empty maps alike.
func Content(a, b any) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return v
	}
	return prune(x)
}

func prune(x any) any {
	switch x := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range x {
			if k == "created_at" || k == "updated_at" {
				continue
			}
			if v = prune(v); v != nil {
				out[k] = v
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = prune(v)
		}
		return out
	case string:
		if x == "" {
			return nil
		}
		return x
	case bool:
		if !x {
			return nil
		}
		return x
	}
	return x
}

// Diff is what an update changed: the fields, by their JSON names, that
// differ, with their values before and after. A field absent on one side
// is null there.
type Diff struct {
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
}

// Changes returns the top-level fields whose content differs between a and
// b, compared as Content compares (timestamps aside), or nil when none
// does. Fields named in skip are left out.
func Changes(a, b any, skip ...string) *Diff {
	ma, mb := fields(a), fields(b)
	d := &Diff{Before: map[string]any{}, After: map[string]any{}}
	for _, m := range []map[string]any{ma, mb} {
		for k := range m {
			if k == "created_at" || k == "updated_at" || slices.Contains(skip, k) {
				continue
			}
			if _, seen := d.Before[k]; seen || reflect.DeepEqual(prune(ma[k]), prune(mb[k])) {
				continue
			}
			d.Before[k], d.After[k] = ma[k], mb[k]
		}
	}
	if len(d.Before) == 0 {
		return nil
	}
	return d
}

// fields returns v's JSON object as a map.
func fields(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}
