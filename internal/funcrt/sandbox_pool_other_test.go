//go:build !linux

package funcrt

// waitIdle has nothing to wait for outside Linux: a pool never holds a
// helper there.
func waitIdle(p *SandboxPool, n int) bool { return true }

// idlePids lists no helper outside Linux.
func idlePids(p *SandboxPool) []int { return nil }

func statusField(b []byte, key string) int64 { return 0 }
