package rest

import (
	"encoding/base64"
	"encoding/json"
)

// Page sizes; the spec bounds limit to the same range.
const (
	defaultLimit = 50
	maxLimit     = 500
)

func pageLimit(p *int) int {
	if p == nil || *p < 1 {
		return defaultLimit
	}
	return min(*p, maxLimit)
}

// A cursor is the sort key of a page's last item: JSON, base64url-encoded so
// that clients treat it as opaque.

func encodeCursor(key ...any) *string {
	b, _ := json.Marshal(key)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// decodeCursor fills dst from a cursor; a missing cursor leaves dst alone.
// Anything but a cursor this server made is a 422 naming the parameter.
func decodeCursor(c *string, dst ...any) error {
	if c == nil {
		return nil
	}
	bad := invalid(FieldError{Field: "cursor", Message: "is not a cursor of this listing; start again without it"})
	b, err := base64.RawURLEncoding.DecodeString(*c)
	if err != nil {
		return bad
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != len(dst) {
		return bad
	}
	for i, p := range parts {
		if err := json.Unmarshal(p, dst[i]); err != nil {
			return bad
		}
	}
	return nil
}

// page trims a listing fetched with limit+1 rows and makes the cursor of
// the next page from the last row kept.
func page[T any](rows []T, limit int, key func(T) []any) ([]T, *string) {
	if len(rows) <= limit {
		if rows == nil {
			rows = []T{}
		}
		return rows, nil
	}
	rows = rows[:limit]
	return rows, encodeCursor(key(rows[len(rows)-1])...)
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
