package logs

import "time"

// Event is one log event written through the internal API (WriteEvents):
// its timestamp and message (Lambda keeps the trailing newline).
type Event struct {
	Time    time.Time
	Message string
}
