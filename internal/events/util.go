package events

import (
	"encoding/json"
	"fmt"
)

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

func decodeEnvelope(raw []byte) (*envelope, error) {
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("events: decode event: %w", err)
	}
	return &e, nil
}
