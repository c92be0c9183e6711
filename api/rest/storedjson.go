package rest

import (
	"encoding/json"
	"fmt"
)

// storedObject decodes a jsonb column the store keeps a JSON object:
// services.settings has a CHECK saying so and events.data is written only
// from Go maps. An error therefore means a row changed behind the
// broker's back; callers that must not act on a guess return it, and
// listings log it and show the row with an empty object so one bad row
// does not hide the others.
func storedObject(raw []byte, column string) (map[string]any, error) {
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return map[string]any{}, fmt.Errorf("stored %s: %w", column, err)
	}
	return out, nil
}
