//go:build linux

package funcrt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sysProcAttr starts the bootstrap as the leader of its own process group,
// killed if Fogbank dies, and, when cgroupFD >= 0, born inside that cgroup
// (CLONE_INTO_CGROUP) so no child can escape it.
func sysProcAttr(cgroupFD int) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if cgroupFD >= 0 {
		a.UseCgroupFD = true
		a.CgroupFD = cgroupFD
	}
	return a
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// treeMemKB sums VmHWM (peak) and VmRSS (current) in KiB over pid and its
// descendants, found through /proc/<pid>/task/<tid>/children.
func treeMemKB(pid int) (hwm, rss int64) {
	seen := map[int]bool{}
	stack := []int{pid}
	for len(stack) > 0 && len(seen) < 4096 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		h, r, ok := procStatusMem(p)
		if !ok {
			continue
		}
		hwm += h
		rss += r
		stack = append(stack, procChildren(p)...)
	}
	return hwm, rss
}

func procStatusMem(pid int) (hwm, rss int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			hwm = parseKB(line[len("VmHWM:"):])
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			rss = parseKB(line[len("VmRSS:"):])
		}
	}
	return hwm, rss, true
}

func parseKB(b []byte) int64 {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n
}

func procChildren(pid int) []int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// maxRSSKB returns the exited process's peak resident set (ru_maxrss, KiB on Linux).
func maxRSSKB(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return ru.Maxrss
	}
	return 0
}

const cgroup2Magic = 0x63677270

// isCgroup2 reports whether path is on a cgroup2 file system.
func isCgroup2(path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return false
	}
	return int64(st.Type) == cgroup2Magic
}

// cgroupEnv is one environment's cgroup v2 directory.
type cgroupEnv struct {
	dir string
	fd  int
}

// pidsMax mirrors Lambda's limit of 1024 processes/threads per environment.
const pidsMax = 1024

// newCgroup creates parent/name with the environment's limits and opens it
// for CLONE_INTO_CGROUP.
func newCgroup(parent, name string, memMB int) (*cgroupEnv, error) {
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("funcrt: cgroup: %w", err)
	}
	c := &cgroupEnv{dir: dir, fd: -1}
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(int64(memMB)<<20, 10)), 0); err != nil {
		c.remove()
		return nil, fmt.Errorf("funcrt: cgroup: memory.max: %w", err)
	}
	// Swap and pids may be unavailable (controller not enabled): best effort.
	_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
	_ = os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(pidsMax)), 0)
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		c.remove()
		return nil, fmt.Errorf("funcrt: cgroup: open: %w", err)
	}
	c.fd = fd
	return c, nil
}

// peakKB is memory.peak (kernel >= 5.19) in KiB, or 0.
func (c *cgroupEnv) peakKB() int64 {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.peak"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n / 1024
}

// oomKills is the oom_kill count of memory.events.
func (c *cgroupEnv) oomKills() int64 {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.events"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// remove kills what is left in the cgroup and deletes it.
func (c *cgroupEnv) remove() {
	if c.fd >= 0 {
		_ = syscall.Close(c.fd)
		c.fd = -1
	}
	_ = os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
	for i := 0; i < 50; i++ {
		err := os.Remove(c.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
