//go:build !linux

package funcrt

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// sandboxState records that there are no namespaces outside Linux.
type sandboxState struct {
	mu     sync.Mutex
	reason string
}

func (s *sandboxState) get() (level nsLevel, confirmed bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return nsNone, true, s.reason
}

// spawn starts the bootstrap as a process group leader: namespaces,
// Pdeathsig and cgroups need Linux.
func (e *environment) spawn(argv, env []string) error {
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: e.m.cfg.CodeDir, Stdout: e.logW, Stderr: e.logW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		return err
	}
	e.cmd = cmd
	return nil
}

// probeSandbox records that there are no namespaces outside Linux.
func (m *Manager) probeSandbox() {
	m.sb.mu.Lock()
	defer m.sb.mu.Unlock()
	if m.sb.reason == "" {
		m.sb.reason = "Linux namespaces need Linux, not " + runtime.GOOS
		m.log.Info("environments run as plain process groups", "reason", m.sb.reason)
	}
}

func namespaceNames(nsLevel) []string { return nil }
