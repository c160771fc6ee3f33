//go:build linux

package funcrt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// treeRescan is how often a memSampler rediscovers the process tree, and
// the longest it trusts a VmHWM it read (see memSampler).
const treeRescan = time.Second

// memSampler sums VmHWM (peak) and VmRSS (current) in KiB over an
// environment's process tree. The tree (found through
// /proc/<pid>/task/<tid>/children) is rediscovered at most every
// treeRescan, and each member's /proc files stay open between samples
// (re-read with pread), so a warm invocation usually costs one read(2) per
// process and no allocation.
//
// A sample reads the resident set from /proc/<pid>/statm, which the kernel
// renders several times faster than /proc/<pid>/status, and re-reads the
// status file's VmHWM only when the resident set has grown past the last
// VmHWM read (the peak has then certainly moved) or that value is older
// than treeRescan: a peak that rises and falls back between two samples
// shows up within a second instead of at once.
//
// An open /proc file keeps naming the process it was opened for: once that
// process is reaped it fails with ESRCH instead of reading a recycled pid.
type memSampler struct {
	root    int
	mu      sync.Mutex
	files   map[int]*procFiles
	rootSt  int // open /proc/<root>/statm for alive, or -1
	scanned time.Time
	closed  bool
	pageKB  int64
	buf     [4096]byte
}

// procFiles are one process's open /proc files and its last VmHWM.
type procFiles struct {
	status, statm int
	hwm           int64 // KiB
	hwmAt         time.Time
}

func (f *procFiles) close() {
	_ = syscall.Close(f.status)
	_ = syscall.Close(f.statm)
}

func newMemSampler(pid int) *memSampler {
	return &memSampler{root: pid, rootSt: -1, pageKB: int64(os.Getpagesize() / 1024)}
}

func (s *memSampler) sample() (hwm, rss int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0
	}
	now := time.Now()
	if s.files == nil || now.Sub(s.scanned) >= treeRescan {
		s.rescanLocked(now)
	}
	for p, f := range s.files {
		b, ok := s.readLocked(f.statm)
		if !ok {
			f.close()
			delete(s.files, p)
			continue
		}
		r := statmResident(b) * s.pageKB
		if r > f.hwm || now.Sub(f.hwmAt) >= treeRescan {
			if b, ok := s.readLocked(f.status); ok {
				f.hwm = max(f.hwm, statusField(b, "\nVmHWM:"))
				f.hwmAt = now
			}
		}
		hwm += max(f.hwm, r)
		rss += r
	}
	return hwm, rss
}

// rescanLocked opens the /proc files of new members of the tree and closes
// those of processes that left it.
func (s *memSampler) rescanLocked(now time.Time) {
	s.scanned = now
	if s.files == nil {
		s.files = map[int]*procFiles{}
	}
	tree := processTree(s.root)
	in := make(map[int]bool, len(tree))
	for _, p := range tree {
		in[p] = true
		if _, ok := s.files[p]; ok {
			continue
		}
		st, err := openProc(p, "status")
		if err != nil {
			continue
		}
		sm, err := openProc(p, "statm")
		if err != nil {
			_ = syscall.Close(st)
			continue
		}
		s.files[p] = &procFiles{status: st, statm: sm}
	}
	for p, f := range s.files {
		if !in[p] {
			f.close()
			delete(s.files, p)
		}
	}
}

// readLocked re-reads an open /proc file from its start into s.buf.
func (s *memSampler) readLocked(fd int) ([]byte, bool) {
	for {
		n, err := syscall.Pread(fd, s.buf[:], 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return nil, false
		}
		return s.buf[:n], true
	}
}

// alive reports whether the root process has not exited, through a
// /proc/<pid>/statm kept open: it fails once the process is reaped and
// reads all zeros once its leader thread has exited (a zombie, or a killed
// multi-threaded process whose other threads are still exiting, which
// waitid does not report yet), as the leader has no memory map any more.
func (s *memSampler) alive() bool {
	if s.root <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.rootSt < 0 {
		fd, err := openProc(s.root, "statm")
		if err != nil {
			return false
		}
		s.rootSt = fd
	}
	b, ok := s.readLocked(s.rootSt)
	return ok && statmSize(b) > 0
}

// close releases the open /proc files; sample and alive return zero values
// afterwards.
func (s *memSampler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for p, f := range s.files {
		f.close()
		delete(s.files, p)
	}
	if s.rootSt >= 0 {
		_ = syscall.Close(s.rootSt)
		s.rootSt = -1
	}
}

// statmSize and statmResident parse the first two fields (pages) of a
// /proc/<pid>/statm line: "size resident shared text lib data dt".
func statmSize(b []byte) int64 { n, _ := decimalField(b); return n }

func statmResident(b []byte) int64 {
	_, rest := decimalField(b)
	n, _ := decimalField(rest)
	return n
}

// decimalField parses the space-separated decimal number b starts with
// (after leading blanks) and returns it with the rest of b.
func decimalField(b []byte) (int64, []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if n <= (1<<62)/10 {
			n = n*10 + int64(b[i]-'0')
		}
	}
	return n, b[i:]
}

func openProc(pid int, name string) (int, error) {
	for {
		fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		return fd, err
	}
}

// processTree lists pid and its descendants.
func processTree(pid int) []int {
	seen := map[int]bool{}
	var out []int
	stack := []int{pid}
	for len(stack) > 0 && len(out) < 4096 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		stack = append(stack, procChildren(p)...)
	}
	return out
}

// statusField parses the "<key> <n> kB" line of a /proc status file.
func statusField(b []byte, key string) int64 {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	rest := b[i+len(key):]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	var n int64
	for _, c := range rest {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			break
		}
		n = n*10 + int64(c-'0')
	}
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

// cgroupEnv is one environment's cgroup directory: cgroup v2 (the process
// is born inside through fd, CLONE_INTO_CGROUP) or a cgroup v1 memory
// cgroup (the process is moved in with join right after it starts).
type cgroupEnv struct {
	dir string
	fd  int // v2: the open directory; -1 for v1
	v1  bool

	peakMu  sync.Mutex
	peakFD  int // the open peak file, re-read with pread; 0: not open yet
	peakBuf [32]byte
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
		_ = c.remove()
		return nil, fmt.Errorf("funcrt: cgroup: memory.max: %w", err)
	}
	// Swap and pids may be unavailable (controller not enabled): best effort.
	_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
	_ = os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(pidsMax)), 0)
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		_ = c.remove()
		return nil, fmt.Errorf("funcrt: cgroup: open: %w", err)
	}
	c.fd = fd
	return c, nil
}

// peakKB is memory.peak (v2, kernel >= 5.19) or memory.max_usage_in_bytes
// (v1) in KiB, or 0.
func (c *cgroupEnv) peakKB() int64 {
	name := "memory.peak"
	if c.v1 {
		name = "memory.max_usage_in_bytes"
	}
	// The file is opened once and re-read in place: the sample runs after
	// every invocation, and an open+read+close costs several times a pread.
	c.peakMu.Lock()
	defer c.peakMu.Unlock()
	if c.peakFD == 0 {
		fd, err := syscall.Open(filepath.Join(c.dir, name), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return 0
		}
		c.peakFD = fd + 1 // stored +1 so that the zero value means "not open"
	}
	m, err := syscall.Pread(c.peakFD-1, c.peakBuf[:], 0)
	if err != nil || m <= 0 {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(c.peakBuf[:m])), 10, 64)
	return n / 1024
}

// oomKills is the oom_kill count of memory.events (v2) or
// memory.oom_control (v1, kernel >= 4.13; before that, whether the limit
// was ever hit: memory.failcnt).
func (c *cgroupEnv) oomKills() int64 {
	name := "memory.events"
	if c.v1 {
		name = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	if c.v1 {
		b, err := os.ReadFile(filepath.Join(c.dir, "memory.failcnt"))
		if err == nil {
			n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return min(n, 1)
		}
	}
	return 0
}

// join moves pid into a v1 cgroup (a v2 process is born inside).
func (c *cgroupEnv) join(pid int) error {
	if !c.v1 {
		return nil
	}
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("funcrt: cgroup v1: cgroup.procs: %w", err)
	}
	return nil
}

// remove kills what is left in the cgroup and deletes it, waiting up to
// cgroupRemoveWait for its processes to exit (rmdir fails with EBUSY until
// then). Cgroup v1 has no cgroup.kill: the processes listed in
// cgroup.procs are SIGKILLed until it is empty (which catches processes
// that left the environment's process group and, without a PID namespace,
// its process tree).
func (c *cgroupEnv) remove() error {
	c.peakMu.Lock()
	if c.peakFD > 0 {
		_ = syscall.Close(c.peakFD - 1)
		c.peakFD = 0
	}
	c.peakMu.Unlock()
	if c.fd >= 0 {
		_ = syscall.Close(c.fd)
		c.fd = -1
	}
	if !c.v1 {
		_ = os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
	}
	deadline := time.Now().Add(cgroupRemoveWait)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		if c.v1 {
			c.killMembers()
		}
		err := syscall.Rmdir(c.dir)
		if err == nil || err == syscall.ENOENT {
			return nil
		}
		if err != syscall.EBUSY || time.Now().After(deadline) {
			return fmt.Errorf("funcrt: removing cgroup %s: %w", c.dir, err)
		}
		time.Sleep(pause)
	}
}

// cgroupRemoveWait bounds how long remove waits for a cgroup's processes
// to exit.
const cgroupRemoveWait = 5 * time.Second

// killMembers SIGKILLs the processes a v1 cgroup.procs lists.
func (c *cgroupEnv) killMembers() {
	b, _ := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processAlive reports whether pid (our child) has not exited yet. It asks
// waitid with WNOWAIT, so the process is not reaped (cmd.Wait still does
// that); a process already reaped (ECHILD) is dead.
func processAlive(pid int) bool {
	if pid <= 0 || waitidExited(pid) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && statAlive(b)
}

// waitidExited reports whether our child pid has exited (waitable, not
// reaped by this call) or is already reaped.
func waitidExited(pid int) bool {
	const (
		pPID    = 1
		wNOHANG = 0x1
		wEXITED = 0x4
		wNOWAIT = 0x1000000
	)
	var info [128]byte // siginfo_t
	_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])),
		wEXITED|wNOHANG|wNOWAIT, 0, 0)
	if errno == syscall.ECHILD {
		return true
	}
	if errno != 0 {
		return false
	}
	// si_pid follows si_signo, si_errno and si_code, aligned like a pointer;
	// it is 0 when no child has changed state.
	off := (3*4 + unsafe.Sizeof(uintptr(0)) - 1) &^ (unsafe.Sizeof(uintptr(0)) - 1)
	return *(*int32)(unsafe.Pointer(&info[off])) != 0
}

// statAlive reads the state field of a /proc/<pid>/stat line. A killed
// multi-threaded process shows its leader as a zombie while the other
// threads still exit; waitid reports it only after that.
func statAlive(b []byte) bool {
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}
