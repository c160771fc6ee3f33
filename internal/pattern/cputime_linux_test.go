//go:build linux

package pattern

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used, so
// that benchmark rates on a shared machine count time spent running, not
// time spent waiting for a core.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
