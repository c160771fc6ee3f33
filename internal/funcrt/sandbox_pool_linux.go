//go:build linux

package funcrt

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt/nsinit"
)

// DefaultSandboxPoolSize is the number of idle sandbox helpers a pool
// keeps unless told otherwise.
const DefaultSandboxPoolSize = 8

// SandboxPool keeps a few sandbox helpers (see package nsinit) started
// ahead of need: each is already in its new PID, IPC, UTS and mount
// namespaces with its private /proc mounted, blocked on its control
// socket. A cold start at the full namespace level then hands one its
// exec spec (bootstrap, arguments, environment, working directory, host
// name, and the log pipe as standard output and error) instead of
// re-executing Fogbank's binary, and the pool starts a replacement in the
// background. When the pool is empty, closed, or the host refused the
// helper's set-up, environments start their own helper as without a pool.
//
// One pool serves every Manager of a process (Options.SandboxPool); its
// owner closes it after them. It starts helpers only once a Manager with
// IsolationNamespaces has been created. Each idle helper is a process
// that exits when the pool is closed or Fogbank dies; of its resident set
// (about 9 MB for Fogbank's binary) about 1 MB is its own, the rest pages
// of the binary shared with Fogbank. A helper runs at most one bootstrap,
// which replaces it. Managers whose environments are born in a cgroup v2
// (Options.CgroupParent) do not use the pool: a pooled helper could only
// be moved into the cgroup after its birth.
//
// Once a Manager with IsolationNamespaces and a cgroup v1 memory limit has
// been created, each helper the pool starts gets a memory cgroup of its
// own (a child of Fogbank's, without a limit), which it enters right after
// it starts, ahead of need: a cold start that takes it makes that cgroup
// the environment's, with the function's limit, instead of moving the
// bootstrap into a new cgroup (which waits for an RCU grace period,
// milliseconds). The cgroup of an idle helper is removed with the helper.
//
// The pool also finds out, once, whether this process's cgroup v1 memory
// hierarchy accepts child cgroups, for every Manager that uses it.
//
// A nil *SandboxPool is valid and holds no helper. Its methods are safe
// for concurrent use.
type SandboxPool struct {
	size int
	log  *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond // broadcast whenever idle or starting changes
	idle     []*pooledHelper
	starting int
	active   bool   // a Manager with namespaces has asked for helpers
	closed   bool   // no helper is started or handed out any more
	disabled string // why the host's refusal stopped the pool; "" otherwise
	// cgParent is where new helpers get their memory cgroup ("" for none):
	// set by a Manager with a cgroup v1 limit, cleared for good (cgFailed)
	// when a helper could not enter its cgroup.
	cgParent string
	cgFailed bool
	wg       sync.WaitGroup

	probeOnce sync.Once // memoryCgroupV1's result, found out once
	probeDir  string
	probeErr  error

	// started counts helpers started, taken helpers handed out (tests).
	started, taken int
	// refuseFlags is added to the helpers' clone flags (a test hook, as
	// sandboxState.refuseFlags), set before the pool is used.
	refuseFlags uintptr
}

// pooledHelper is one idle helper: the process, funcrt's end of its
// control socket, and its cgroup v1 memory cgroup (nil without one). The
// cgroup belongs to the helper until an environment takes it over (see
// spawnPooled), which sets cg to nil.
type pooledHelper struct {
	cmd  *exec.Cmd
	conn *net.UnixConn
	cg   *cgroupEnv
}

// NewSandboxPool returns a pool that keeps up to size idle helpers
// (DefaultSandboxPoolSize is the usual figure). A size of zero or less
// disables it: it never holds a helper. Log receives its operational
// logs; nil discards them.
func NewSandboxPool(size int, log *slog.Logger) *SandboxPool {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &SandboxPool{size: max(size, 0), log: log.With("component", "funcrt-pool")}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// poolRefillDelay is how long after a pooled environment's first
// invocation (or, provisioned, its init) the pool starts a replacement.
// Started at once, the replacement delayed that invocation's answer by up
// to 13 ms on a loaded 2-core host (cold start 2.6x the bare exec instead
// of 1.5x; BenchmarkColdStartBreakdown).
const poolRefillDelay = 50 * time.Millisecond

// poolReadyTimeout bounds how long a new helper may take to be ready.
const poolReadyTimeout = DefaultInitTimeout

// memoryCgroupV1 is memoryCgroupV1 for the pool's Managers, found out on
// the first call (each call when p is nil).
func (p *SandboxPool) memoryCgroupV1() (string, error) {
	if p == nil {
		return memoryCgroupV1()
	}
	p.probeOnce.Do(func() { p.probeDir, p.probeErr = memoryCgroupV1() })
	return p.probeDir, p.probeErr
}

// warm starts filling the pool, once. With cgroupV1 (the caller limits
// memory with cgroup v1), helpers started from now on get a memory cgroup
// of their own.
func (p *SandboxPool) warm(cgroupV1 bool) {
	if p == nil {
		return
	}
	dir := ""
	if cgroupV1 {
		dir, _ = p.memoryCgroupV1()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if dir != "" && !p.cgFailed {
		p.cgParent = dir
	}
	if !p.active {
		p.active = true
		p.fillLocked()
	}
}

// bornInCgroups reports whether new helpers get a memory cgroup.
func (p *SandboxPool) bornInCgroups() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cgParent != ""
}

// fillLocked starts helpers until idle and starting ones make size.
func (p *SandboxPool) fillLocked() {
	if p.closed || !p.active || p.disabled != "" {
		return
	}
	for len(p.idle)+p.starting < p.size {
		p.starting++
		p.started++
		p.wg.Add(1)
		go p.startOne(p.cgParent)
	}
}

// startOne starts one helper (in a new memory cgroup under cgParent unless
// that is "") and adds it to the idle list once ready.
func (p *SandboxPool) startOne(cgParent string) {
	defer p.wg.Done()
	h, cgErr, err := startPooledHelper(p.refuseFlags, cgParent)
	p.mu.Lock()
	p.starting--
	p.cond.Broadcast()
	if cgErr != nil && !p.cgFailed {
		p.cgFailed, p.cgParent = true, ""
		p.log.Info("sandbox helper pool: helpers get no memory cgroup of their own", "err", cgErr)
	}
	var se *sandboxError
	switch {
	case err == nil && !p.closed:
		p.idle = append(p.idle, h)
		p.mu.Unlock()
		return
	case errors.As(err, &se) && p.disabled == "":
		p.disabled = se.msg
		p.log.Info("sandbox helper pool disabled: the host refused the helper", "reason", se.msg)
	case err != nil:
		p.log.Warn("sandbox helper pool: starting a helper failed", "err", err)
	}
	p.mu.Unlock()
	if h != nil {
		if err := h.discard(); err != nil {
			p.log.Warn("sandbox helper pool: helper cgroup left behind", "err", err)
		}
	}
}

// startPooledHelper starts a helper in "pool" mode and waits until it is
// ready. A *sandboxError means the host refuses the namespaces or the
// helper's set-up. With cgParent, the helper is moved into a new memory
// cgroup there as soon as it has started, while it sets itself up; if
// that fails, cgErr says why and the helper goes on without one.
func startPooledHelper(refuseFlags uintptr, cgParent string) (h *pooledHelper, cgErr, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("funcrt: sandbox pool: socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "sandbox-pool")
	child := os.NewFile(uintptr(fds[1]), "sandbox-pool-helper")
	c, err := net.FileConn(parent)
	_ = parent.Close()
	if err != nil {
		_ = child.Close()
		return nil, nil, fmt.Errorf("funcrt: sandbox pool: %w", err)
	}
	var cg *cgroupEnv
	if cgParent != "" {
		if cg, cgErr = makeCgroupV1(cgParent, "fogbank-"+randHex(16)); cgErr != nil {
			cg = nil
		}
	}
	conn := c.(*net.UnixConn)
	attr := &sandboxState{refuseFlags: refuseFlags}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: []string{nsinit.Arg0, "pool"},
		Env: []string{}, // nothing of Fogbank's: the Spec brings the bootstrap's
		Dir: "/", SysProcAttr: attr.procAttr(nsFull),
		ExtraFiles: []*os.File{child}, // nsinit.ControlFD
	}
	err = cmd.Start()
	_ = child.Close()
	if err != nil {
		_ = conn.Close()
		if cg != nil {
			_ = cg.remove()
		}
		if nsErrno(err) {
			return nil, nil, &sandboxError{msg: err.Error()}
		}
		return nil, nil, fmt.Errorf("funcrt: sandbox pool: %w", err)
	}
	h = &pooledHelper{cmd: cmd, conn: conn}
	if cg != nil {
		// The move waits for an RCU grace period (milliseconds): here,
		// ahead of need, rather than in a cold start.
		if cgErr = cg.join(cmd.Process.Pid); cgErr != nil {
			_ = cg.remove()
			if errors.Is(cgErr, syscall.ESRCH) {
				cgErr = nil // the helper is gone already: the cgroup is not at fault
			}
		} else {
			h.cg = cg
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(poolReadyTimeout))
	var b [1]byte
	n, err := io.ReadFull(conn, b[:])
	if n == 1 && b[0] == nsinit.StatusReady[0] {
		_ = conn.SetReadDeadline(time.Time{})
		return h, cgErr, nil
	}
	rest, _ := io.ReadAll(conn)
	msg := string(b[:n]) + string(rest)
	if m, ok := strings.CutPrefix(msg, nsinit.StatusSetup); ok {
		return h, cgErr, &sandboxError{msg: m}
	}
	return h, cgErr, fmt.Errorf("funcrt: sandbox pool: helper not ready (%q): %v", msg, err)
}

// take hands out an idle helper, or nil when there is none (and then
// starts replacements at once). After a successful take the caller calls
// refill once the environment has started, so that the replacement does
// not compete with the cold start for the CPU. Helpers found dead (their
// end of the socket closed) are discarded and replaced with the others.
func (p *SandboxPool) take() *pooledHelper {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	var h *pooledHelper
	for h == nil && len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if c.alive() {
			h = c
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := c.discard(); err != nil {
				p.log.Warn("sandbox helper pool: helper cgroup left behind", "err", err)
			}
		}()
	}
	if h == nil {
		p.fillLocked()
	} else {
		p.taken++
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	return h
}

// Idle returns the number of helpers ready to be handed out.
func (p *SandboxPool) Idle() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// refill starts helpers in the background until the pool is full again.
func (p *SandboxPool) refill() {
	p.mu.Lock()
	p.fillLocked()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// alive reports whether the idle helper still holds its end of the
// socket: nothing to read yet, and no end of file.
func (h *pooledHelper) alive() bool {
	rc, err := h.conn.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	_ = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN
		return true // never wait
	})
	return alive
}

// discard ends the helper: closing its socket makes it exit, the SIGKILL
// makes sure, and Wait reaps it. Then its cgroup, if it still has one, is
// removed.
func (h *pooledHelper) discard() error {
	_ = h.conn.Close()
	killGroup(h.cmd.Process.Pid)
	_ = h.cmd.Wait()
	if h.cg == nil {
		return nil
	}
	err := h.cg.remove()
	h.cg = nil
	return err
}

// Close ends the idle helpers and waits for the ones being started or
// discarded. Environments already started from the pool belong to their
// Managers. Afterwards the pool hands out nothing. Close always returns
// nil.
func (p *SandboxPool) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, h := range idle {
		_ = h.conn.Close() // all of them first: they exit in parallel
	}
	for _, h := range idle {
		if err := h.discard(); err != nil {
			p.log.Warn("sandbox helper pool: helper cgroup left behind", "err", err)
		}
	}
	p.wg.Wait()
	return nil
}

// errPoolMiss reports that a pooled helper could not take the
// environment (it died after take); the caller starts one as without a
// pool.
var errPoolMiss = errors.New("funcrt: pooled sandbox helper lost")

// spawnPooled starts the environment's bootstrap in the pooled helper h
// (level nsFull). errPoolMiss means nothing was started. The pool is
// refilled when the environment's first invocation has ended (for a
// provisioned environment, which has none yet, when its init has ended),
// or at once if the bootstrap did not start: a replacement helper costs a
// start of Fogbank's binary, which would otherwise share the CPU with this
// cold start and delay its answer to the caller.
//
// When the environment is to have a cgroup v1 and has none yet, it takes
// over the helper's own (adoption): the function's limit is set before
// the helper executes the bootstrap, and the cgroup's peak is restarted
// once it has, so that the helper's own memory is not counted as the
// function's. Otherwise the helper is moved into the environment's cgroup
// as a process started without a pool is, and its own cgroup, if any, is
// removed with the environment.
func (e *environment) spawnPooled(h *pooledHelper, argv, env []string) (err error) {
	m := e.m
	pool := m.opts.SandboxPool
	defer func() {
		if err != nil {
			pool.refill()
			return
		}
		ready := e.firstDone
		if e.startedProvisioned {
			ready = e.api.initDone
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			select {
			case <-ready:
				// Let the answer reach the caller first: a helper's start
				// (an exec of Fogbank's binary and its runtime's start-up)
				// takes both cores of a small host for a few milliseconds.
				t := time.NewTimer(poolRefillDelay)
				select {
				case <-t.C:
				case <-e.exited:
				}
				t.Stop()
			case <-e.api.initFailed:
			case <-e.exited:
			}
			pool.refill()
		}()
	}()
	msg, err := nsinit.AppendSpec(nil, nsinit.Spec{Hostname: m.sb.hostnameOrDefault(), Dir: m.cfg.CodeDir, Argv: argv, Env: env})
	if err != nil {
		// Too large for the helper: the exec without a pool reports what
		// the kernel thinks of it.
		e.discardHelper(h)
		return errPoolMiss
	}
	adopt := h.cg != nil && !e.cgMade && m.cgroupV1 != ""
	if adopt {
		if err := h.cg.setLimitV1(m.cfg.MemoryMB); err != nil {
			m.log.Warn("pooled sandbox helper's cgroup refused the limit; starting a helper", "err", err)
			e.discardHelper(h)
			return errPoolMiss
		}
	} else {
		e.ensureCgroup()
	}
	_ = h.conn.SetDeadline(time.Now().Add(m.opts.InitTimeout))
	if err := sendSpec(h.conn, msg, e.logW); err != nil {
		m.log.Debug("pooled sandbox helper lost; starting one", "err", err)
		e.discardHelper(h)
		return errPoolMiss
	}
	// The helper is the environment's now, and so is its cgroup.
	if adopt {
		e.cg, e.cgMade = h.cg, true
	} else {
		e.helperCg = h.cg
	}
	h.cg = nil
	pid := h.cmd.Process.Pid
	if !adopt {
		e.joinCgroupV1(pid)
	}
	b, err := io.ReadAll(h.conn)
	_ = h.conn.Close()
	if err == nil {
		err = helperStatus(b, argv[0])
	} else {
		err = fmt.Errorf("funcrt: sandbox helper: %w", err)
	}
	if err != nil {
		killGroup(pid)
		_ = h.cmd.Wait()
		return err
	}
	if adopt {
		if err := e.cg.resetPeakV1(); err != nil {
			m.log.Debug("the adopted cgroup's peak includes the sandbox helper's", "err", err)
		}
	}
	e.cmd = h.cmd
	return nil
}

// discardHelper ends an unused helper in the background (Close waits).
func (e *environment) discardHelper(h *pooledHelper) {
	e.m.wg.Add(1)
	go func() {
		defer e.m.wg.Done()
		if err := h.discard(); err != nil {
			e.m.log.Warn("pooled sandbox helper's cgroup left behind", "err", err)
		}
	}()
}

// sendSpec writes the encoded spec to the helper with two copies of the
// log pipe (standard output and error) attached.
func sendSpec(conn *net.UnixConn, msg []byte, logW *os.File) error {
	rc, err := logW.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	cerr := rc.Control(func(fd uintptr) {
		n, _, err = conn.WriteMsgUnix(msg, syscall.UnixRights(int(fd), int(fd)), nil)
	})
	if cerr != nil {
		return cerr
	}
	if err == nil && n < len(msg) {
		_, err = conn.Write(msg[n:])
	}
	return err
}
