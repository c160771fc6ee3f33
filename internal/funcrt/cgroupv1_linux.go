//go:build linux

package funcrt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// newCgroupV1 creates parent/name in a cgroup v1 memory hierarchy with
// the environment's memory limit (see setLimitV1).
func newCgroupV1(parent, name string, memMB int) (*cgroupEnv, error) {
	c, err := makeCgroupV1(parent, name)
	if err != nil {
		return nil, err
	}
	if err := c.setLimitV1(memMB); err != nil {
		_ = c.remove()
		return nil, err
	}
	return c, nil
}

// makeCgroupV1 creates parent/name in a cgroup v1 memory hierarchy without
// a limit of its own (a pooled sandbox helper's, see SandboxPool).
func makeCgroupV1(parent, name string) (*cgroupEnv, error) {
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	return &cgroupEnv{dir: dir, fd: -1, v1: true}, nil
}

// setLimitV1 sets memory.limit_in_bytes to memMB (and the same memory+swap
// limit where swap accounting exists, so the limit cannot be dodged by
// swapping). The kernel keeps the memory limit at or below the
// memory+swap one (EINVAL otherwise): a limit below the current one is
// written memory first, one above it memory+swap first.
func (c *cgroupEnv) setLimitV1(memMB int) error {
	limit := []byte(strconv.FormatInt(int64(memMB)<<20, 10))
	mem := filepath.Join(c.dir, "memory.limit_in_bytes")
	memsw := filepath.Join(c.dir, "memory.memsw.limit_in_bytes")
	err := os.WriteFile(mem, limit, 0)
	if errors.Is(err, syscall.EINVAL) && os.WriteFile(memsw, limit, 0) == nil {
		err = os.WriteFile(mem, limit, 0) // growing: memory+swap went first
	}
	if err != nil {
		return fmt.Errorf("funcrt: cgroup v1: memory.limit_in_bytes: %w", err)
	}
	// Absent without swap accounting (CONFIG_MEMCG_SWAP, swapaccount=1).
	_ = os.WriteFile(memsw, limit, 0)
	return nil
}

// resetPeakV1 restarts memory.max_usage_in_bytes from the current usage
// (writing 0 to it does that), forgetting the peak of what ran in the
// cgroup before.
func (c *cgroupEnv) resetPeakV1() error {
	if err := os.WriteFile(filepath.Join(c.dir, "memory.max_usage_in_bytes"), []byte("0"), 0); err != nil {
		return fmt.Errorf("funcrt: cgroup v1: memory.max_usage_in_bytes: %w", err)
	}
	return nil
}

// memoryCgroupV1 returns the directory of this process's cgroup in the
// cgroup v1 memory hierarchy when environments can be given child cgroups
// there (it creates and removes one to find out), else "" and why not.
func memoryCgroupV1() (string, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	dir := v1MemoryDir(string(self), string(mountinfo))
	if dir == "" {
		return "", errors.New("funcrt: cgroup v1: no memory hierarchy mounted")
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.limit_in_bytes")); err != nil {
		return "", fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	probe := filepath.Join(dir, "fogbank-probe-"+randHex(8))
	if err := os.Mkdir(probe, 0o755); err != nil {
		return "", fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	if err := os.Remove(probe); err != nil {
		return "", fmt.Errorf("funcrt: cgroup v1: %w", err)
	}
	return dir, nil
}

// v1MemoryDir finds this process's memory cgroup directory from
// /proc/self/cgroup ("4:memory:/a/b") and /proc/self/mountinfo (a "cgroup"
// mount whose super options include "memory"), or "".
func v1MemoryDir(self, mountinfo string) string {
	path, found := "", false
	for _, line := range strings.Split(self, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == "memory" {
				path, found = f[2], true
			}
		}
	}
	if !found {
		return ""
	}
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || qf[0] != "cgroup" {
			continue
		}
		memory := false
		for _, o := range strings.Split(qf[2], ",") {
			memory = memory || o == "memory"
		}
		if !memory {
			continue
		}
		root, mnt := unescapeMountinfo(pf[3]), unescapeMountinfo(pf[4])
		rel := path
		if root != "/" {
			// The mount shows a sub-tree of the hierarchy (a container's
			// bind mount): the process's path must lie inside it.
			if rel != root && !strings.HasPrefix(rel, root+"/") {
				continue
			}
			rel = strings.TrimPrefix(rel, root)
		}
		return filepath.Join(mnt, rel)
	}
	return ""
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
