package funcrt

import (
	"strings"
)

// Sandbox describes the isolation and the memory limit a Manager's
// environments get on this host (see Manager.Sandbox).
type Sandbox struct {
	// Isolation is the configured level (Options.Isolation).
	Isolation Isolation
	// Namespaces lists the Linux namespaces each environment's bootstrap
	// gets, among "pid", "ipc", "uts", "mnt" and "user"; empty when it
	// runs as a plain process group.
	Namespaces []string
	// PrivateProc reports that the environment sees its own /proc (only its
	// own processes) and the host name "localhost", which needs the mount
	// namespace.
	PrivateProc bool
	// Memory is how MemorySize is enforced: "cgroup2" (Options.CgroupParent),
	// "cgroup1" (a child of this process's cgroup v1 memory cgroup), "polling"
	// (best effort: the resident set is polled during invocations) or "none".
	Memory string
	// Fallback says why less isolation than configured is in effect; empty
	// when there is no fallback.
	Fallback string
}

// String renders s for a log line, e.g.
// "namespaces pid,ipc,uts,mnt (private /proc), memory cgroup1".
func (s Sandbox) String() string {
	var b strings.Builder
	if len(s.Namespaces) == 0 {
		b.WriteString("process group")
	} else {
		b.WriteString("namespaces ")
		b.WriteString(strings.Join(s.Namespaces, ","))
		if s.PrivateProc {
			b.WriteString(" (private /proc)")
		}
	}
	b.WriteString(", memory ")
	b.WriteString(s.Memory)
	if s.Fallback != "" {
		b.WriteString(" (fallback: ")
		b.WriteString(s.Fallback)
		b.WriteString(")")
	}
	return b.String()
}

// Sandbox reports the isolation in effect for the Manager's environments.
// Namespace support is found out by the first environment that starts; if
// none has started yet, Sandbox finds it out by starting one short-lived
// process.
func (m *Manager) Sandbox() Sandbox {
	if m.opts.Isolation == IsolationNamespaces {
		m.probeSandbox()
	}
	level, _, reason := m.sb.get()
	s := Sandbox{Isolation: m.opts.Isolation, Fallback: reason, Memory: m.memoryLimitKind()}
	if m.opts.Isolation == IsolationNamespaces {
		s.Namespaces = namespaceNames(level)
		s.PrivateProc = level == nsFull
	}
	return s
}

func (m *Manager) memoryLimitKind() string {
	switch {
	case m.cgroupParent != "":
		return "cgroup2"
	case m.cgroupV1 != "":
		return "cgroup1"
	case !m.opts.DisableMemoryPolling:
		return "polling"
	}
	return "none"
}

// nsLevel is a namespace isolation level; a larger value isolates less.
type nsLevel int

const (
	// nsFull: PID, IPC, UTS and mount namespaces (and a user namespace when
	// not root); the sandbox helper mounts a private /proc and sets the host
	// name before it executes the bootstrap.
	nsFull nsLevel = iota
	// nsBasic: PID, IPC and UTS namespaces (and user), no helper: /proc is
	// the host's and the host name a copy of the host's.
	nsBasic
	// nsNone: a plain process group.
	nsNone
)

func (l nsLevel) String() string {
	switch l {
	case nsFull:
		return "pid+ipc+uts+mnt namespaces"
	case nsBasic:
		return "pid+ipc+uts namespaces"
	}
	return "no namespaces"
}

// newEnvCgroup creates the environment's memory cgroup (v2 under
// Options.CgroupParent, else v1 under this process's memory cgroup), or
// returns nil when neither is available.
func (m *Manager) newEnvCgroup() *cgroupEnv {
	name := "fogbank-" + randHex(16)
	switch {
	case m.cgroupParent != "":
		cg, err := newCgroup(m.cgroupParent, name, m.cfg.MemoryMB)
		if err != nil {
			m.log.Warn("cgroup unavailable for environment; memory limit is best effort", "err", err)
			return nil
		}
		return cg
	case m.cgroupV1 != "":
		cg, err := newCgroupV1(m.cgroupV1, name, m.cfg.MemoryMB)
		if err != nil {
			m.log.Warn("cgroup v1 unavailable for environment; memory limit is best effort", "err", err)
			return nil
		}
		return cg
	}
	return nil
}
