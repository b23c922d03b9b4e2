// Package paging holds what both stores share of keyset pagination: the page
// size a filter's limit asks for, and the opaque cursor that carries the key
// of a page's last item.
package paging

import (
	"encoding/base64"
	"encoding/json"

	"github.com/rosterhq/roster"
)

// Size returns the number of items a page holds for a filter's limit.
func Size(limit int) int {
	switch {
	case limit <= 0:
		return roster.DefaultPageSize
	case limit > roster.MaxPageSize:
		return roster.MaxPageSize
	}
	return limit
}

// Encode returns the opaque cursor for the key of a page's last item.
func Encode(key any) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode decodes a cursor made by Encode into key, whose shape the caller
// gives. A cursor that does not decode is EINVALID.
func Decode(cursor string, key any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, key)
	}
	if err != nil {
		return roster.Errorf(roster.EINVALID, "invalid cursor %q", cursor)
	}
	return nil
}
