package graph

import "encoding/json"

// jsonMarshal and jsonUnmarshal are the package's only JSON entry points
// besides DecodePage, so a faster codec can be swapped in one place.
func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
