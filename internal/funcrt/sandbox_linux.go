//go:build linux

package funcrt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt/nsinit"
)

// sandboxState is the namespace level a Manager's environments use. It
// starts at nsFull, unconfirmed; the first environment started at a level
// confirms it, and a level the host refuses moves the Manager one level
// down. It never moves back up.
type sandboxState struct {
	mu        sync.Mutex
	level     nsLevel
	confirmed bool
	reason    string

	// Test hooks, set before the Manager is used: hostname replaces
	// sandboxHostname and refuseFlags is added to the clone flags at the
	// namespace levels (an invalid flag makes the "host" refuse them).
	hostname    string
	refuseFlags uintptr
}

// effective is the level the next environment should use.
func (s *sandboxState) effective() nsLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.level
}

func (s *sandboxState) get() (level nsLevel, confirmed bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.level, s.confirmed || s.level == nsNone, s.reason
}

// settle records that level worked.
func (s *sandboxState) settle(level nsLevel) {
	s.mu.Lock()
	if s.level == level {
		s.confirmed = true
	}
	s.mu.Unlock()
}

// downgrade records that the host refused level (reason says how); the
// next attempt uses the next weaker level. Each downgrade is logged once.
func (s *sandboxState) downgrade(level nsLevel, reason string, log *slog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.level != level || level == nsNone {
		return // another environment has already moved the level
	}
	s.level, s.confirmed = level+1, false
	if s.reason != "" {
		s.reason += "; "
	}
	s.reason += level.String() + ": " + reason
	log.Info("environment isolation reduced: the host refused "+level.String(), "now", s.level.String(), "reason", reason)
}

// sandboxHostname is the host name environments see at nsFull.
const sandboxHostname = "localhost"

// capSysAdmin is CAP_SYS_ADMIN, which the helper needs in a user namespace.
const capSysAdmin = 21

// sandboxError is a failure of the namespaces (not of the bootstrap): the
// environment is retried one level down.
type sandboxError struct{ msg string }

func (e *sandboxError) Error() string { return e.msg }

// nsErrno reports whether a clone failure means the host refuses the
// namespaces (not allowed, not supported, limit reached).
func nsErrno(err error) bool {
	for _, n := range []syscall.Errno{syscall.EPERM, syscall.EINVAL, syscall.ENOSPC, syscall.EUSERS, syscall.ENOSYS} {
		if errors.Is(err, n) {
			return true
		}
	}
	return false
}

func namespaceNames(level nsLevel) []string {
	var out []string
	switch level {
	case nsFull:
		out = []string{"pid", "ipc", "uts", "mnt"}
	case nsBasic:
		out = []string{"pid", "ipc", "uts"}
	default:
		return nil
	}
	if os.Getuid() != 0 {
		out = append(out, "user")
	}
	return out
}

// procAttr is the SysProcAttr of an environment's first process at level:
// its own process group, SIGKILLed when Fogbank dies (in a PID namespace
// Go's check for an already dead parent cannot work, since getppid is 0
// there, and its signal to itself is ignored by a namespace's init; the
// helper's control pipe covers that window), the namespaces, and, when
// Fogbank is not root, a user namespace mapping its uid and gid.
func (s *sandboxState) procAttr(level nsLevel) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	switch level {
	case nsFull:
		a.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS
	case nsBasic:
		a.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	default:
		return a
	}
	a.Cloneflags |= s.refuseFlags
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		if level == nsFull {
			a.AmbientCaps = []uintptr{capSysAdmin}
		}
	}
	return a
}

func (s *sandboxState) hostnameOrDefault() string {
	if s.hostname != "" {
		return s.hostname
	}
	return sandboxHostname
}

// spawn starts the environment's bootstrap (e.cmd) with the strongest
// isolation the host has not refused, moving the Manager down a level when
// the host refuses one. A returned error is the bootstrap's own (e.g. an
// exec failure) or the host's.
func (e *environment) spawn(argv, env []string) error {
	m := e.m
	for {
		level := nsNone
		if m.opts.Isolation == IsolationNamespaces {
			level = m.sb.effective()
		}
		hadCgroup := e.cg != nil
		err := e.spawnAt(level, argv, env)
		var se *sandboxError
		if err == nil || !errors.As(err, &se) {
			if err == nil && level != nsNone {
				m.sb.settle(level)
			}
			return err
		}
		m.sb.downgrade(level, se.msg, m.log)
		if hadCgroup && e.cg == nil {
			e.cg = m.newEnvCgroup()
		}
	}
}

// spawnAt starts the bootstrap at one isolation level: at nsFull in a
// pooled helper when Options.SandboxPool has one (and the environment is
// not born in a cgroup v2), else in a new process.
func (e *environment) spawnAt(level nsLevel, argv, env []string) error {
	m := e.m
	if level == nsFull && m.sb.refuseFlags == 0 && (e.cg == nil || e.cg.v1) {
		if h := m.opts.SandboxPool.take(); h != nil {
			if err := e.spawnPooled(h, argv, env); err != errPoolMiss {
				return err
			}
		}
	}
	e.ensureCgroup()
	attr := m.sb.procAttr(level)
	if e.cg != nil && e.cg.fd >= 0 {
		attr.UseCgroupFD = true
		attr.CgroupFD = e.cg.fd
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: m.cfg.CodeDir, Stdout: e.logW, Stderr: e.logW, SysProcAttr: attr}
	var ctlW, statR *os.File
	if level == nsFull {
		ctlR, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("funcrt: sandbox pipe: %w", err)
		}
		r, statW, err := os.Pipe()
		if err != nil {
			_ = ctlR.Close()
			_ = w.Close()
			return fmt.Errorf("funcrt: sandbox pipe: %w", err)
		}
		ctlW, statR = w, r
		defer ctlW.Close()
		defer statR.Close()
		cmd.Path = "/proc/self/exe"
		cmd.Args = append([]string{nsinit.Arg0, "run", m.sb.hostnameOrDefault(), "--"}, argv...)
		cmd.ExtraFiles = []*os.File{ctlR, statW} // nsinit.ControlFD, nsinit.StatusFD
	}
	err := cmd.Start()
	for _, f := range cmd.ExtraFiles {
		_ = f.Close() // the child's ends: the status pipe ends when the child closes its copy
	}
	if err != nil {
		if e.cg != nil && e.cg.fd >= 0 {
			// CLONE_INTO_CGROUP can fail (old kernel, controller trouble):
			// run without the cgroup rather than fail the function.
			m.log.Warn("starting inside the cgroup failed; memory limit is best effort", "err", err)
			_ = e.cg.remove()
			e.cg = nil
			return e.spawnAt(level, argv, env)
		}
		if level != nsNone && nsErrno(err) {
			return &sandboxError{msg: err.Error()}
		}
		return err
	}
	pid := cmd.Process.Pid
	e.joinCgroupV1(pid)
	if level == nsFull {
		if err := releaseHelper(ctlW, statR, m.opts.InitTimeout, argv[0]); err != nil {
			killGroup(pid)
			_ = cmd.Wait()
			return err
		}
	}
	e.cmd = cmd
	return nil
}

// joinCgroupV1 moves the environment's first process (pid) into its
// cgroup v1, if it has one. Moving a process into a cgroup v1 waits for an
// RCU grace period (milliseconds, more on a busy host), so it runs
// alongside the runtime's init rather than before it; start waits for it
// before the first invocation. What the runtime touches before it is
// moved stays charged to Fogbank's cgroup.
func (e *environment) joinCgroupV1(pid int) {
	if e.cg == nil || !e.cg.v1 {
		return
	}
	m := e.m
	join := make(chan error, 1)
	e.cgJoin = join
	cg := e.cg
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := cg.join(pid)
		if err == nil {
			for _, p := range processTree(pid)[1:] { // what it forked meanwhile
				_ = cg.join(p)
			}
		}
		join <- err
	}()
}

// releaseHelper lets the helper execute the bootstrap and reads what
// became of it (see the protocol in package nsinit).
func releaseHelper(ctlW, statR *os.File, timeout time.Duration, path string) error {
	_, _ = ctlW.Write([]byte{1})
	_ = ctlW.Close()
	_ = statR.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(statR)
	if err != nil {
		return fmt.Errorf("funcrt: sandbox helper: %w", err)
	}
	return helperStatus(b, path)
}

// helperStatus turns what a helper wrote after its go-ahead into an
// error: nil when it executed the bootstrap at path.
func helperStatus(b []byte, path string) error {
	if len(b) == 0 {
		return nil // the exec closed the status pipe
	}
	if msg, ok := strings.CutPrefix(string(b), nsinit.StatusSetup); ok {
		return &sandboxError{msg: msg}
	}
	if n, ok := strings.CutPrefix(string(b), nsinit.StatusExec); ok {
		errno, _ := strconv.Atoi(n)
		return &fs.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(errno)}
	}
	return fmt.Errorf("funcrt: sandbox helper: unexpected status %q", b)
}

// probeSandbox confirms the namespace level by starting the helper alone
// ("probe": the full set-up; "true": namespaces only), unless an
// environment has already confirmed it.
func (m *Manager) probeSandbox() {
	for {
		level, confirmed, _ := m.sb.get()
		if confirmed {
			return
		}
		args := []string{nsinit.Arg0, "true"}
		if level == nsFull {
			args = []string{nsinit.Arg0, "probe", m.sb.hostnameOrDefault()}
		}
		var out bytes.Buffer
		cmd := &exec.Cmd{Path: "/proc/self/exe", Args: args, Stdout: &out, Stderr: &out, SysProcAttr: m.sb.procAttr(level)}
		err := cmd.Run()
		if err == nil {
			m.sb.settle(level)
			return
		}
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		m.sb.downgrade(level, msg, m.log)
	}
}
