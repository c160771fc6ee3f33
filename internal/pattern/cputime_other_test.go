//go:build !linux

package pattern

import "time"

// processCPU is unavailable here: rates fall back to wall-clock time.
func processCPU() (time.Duration, bool) { return 0, false }
