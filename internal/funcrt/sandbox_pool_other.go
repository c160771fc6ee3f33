//go:build !linux

package funcrt

import "log/slog"

// DefaultSandboxPoolSize is the number of idle sandbox helpers a pool
// keeps unless told otherwise.
const DefaultSandboxPoolSize = 8

// SandboxPool keeps pre-started sandbox helpers on Linux; elsewhere there
// are no namespaces and it never holds a helper. A nil *SandboxPool is
// valid.
type SandboxPool struct{}

// NewSandboxPool returns a pool that holds no helper outside Linux.
func NewSandboxPool(size int, log *slog.Logger) *SandboxPool { return &SandboxPool{} }

// Close does nothing outside Linux; it returns nil.
func (p *SandboxPool) Close() error { return nil }

// Idle is always 0 outside Linux.
func (p *SandboxPool) Idle() int { return 0 }

func (p *SandboxPool) warm(bool) {}

func (p *SandboxPool) bornInCgroups() bool { return false }

func (p *SandboxPool) memoryCgroupV1() (string, error) { return memoryCgroupV1() }
