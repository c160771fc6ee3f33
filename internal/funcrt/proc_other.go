//go:build !linux

package funcrt

import (
	"errors"
	"os"
	"syscall"
)

func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// memSampler does not measure outside Linux.
type memSampler struct{ root int }

func newMemSampler(pid int) *memSampler        { return &memSampler{root: pid} }
func (s *memSampler) sample() (hwm, rss int64) { return 0, 0 }
func (s *memSampler) alive() bool              { return processAlive(s.root) }
func (s *memSampler) close()                   {}

func maxRSSKB(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return ru.Maxrss / 1024 // bytes on Darwin
	}
	return 0
}

func isCgroup2(string) bool { return false }

type cgroupEnv struct{}

func newCgroup(string, string, int) (*cgroupEnv, error) {
	return nil, errors.New("funcrt: cgroups need Linux")
}
func newCgroupV1(string, string, int) (*cgroupEnv, error) {
	return nil, errors.New("funcrt: cgroups need Linux")
}
func memoryCgroupV1() (string, error) { return "", errors.New("funcrt: cgroups need Linux") }
func (c *cgroupEnv) peakKB() int64    { return 0 }
func (c *cgroupEnv) oomKills() int64  { return 0 }
func (c *cgroupEnv) remove() error    { return nil }

// processAlive cannot be asked without reaping outside Linux; the exit is
// noticed by cmd.Wait instead.
func processAlive(pid int) bool { return pid > 0 }
