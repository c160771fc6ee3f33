//go:build linux

package funcrt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// whoami is what the test handler's "whoami" action reports.
type whoami struct {
	Pid      int
	Hostname string
	Procs    int
	UID      int
	CapEff   string
}

func invokeWhoami(t *testing.T, m *Manager) whoami {
	t.Helper()
	res := invoke(t, m, `{"action":"whoami"}`)
	var w whoami
	if res.FunctionError != "" || json.Unmarshal(res.Payload, &w) != nil {
		t.Fatalf("whoami: %s %s", res.FunctionError, res.Payload)
	}
	if res.MaxMemoryUsedMB <= 0 {
		t.Errorf("MaxMemoryUsedMB = %d: the host side cannot measure the environment", res.MaxMemoryUsedMB)
	}
	return w
}

func nsLink(t *testing.T, pid, ns string) string {
	t.Helper()
	l, err := os.Readlink("/proc/" + pid + "/ns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSandboxNamespaces checks, from inside (the handler's view) and from
// the host (/proc/<pid>/ns), the namespaces Manager.Sandbox reports, with
// and without pooled helpers.
func TestSandboxNamespaces(t *testing.T) { poolModes(t, testSandboxNamespaces) }

func testSandboxNamespaces(t *testing.T, withPool func(Options) Options) {
	m := newManager(t, testConfig(t), withPool(Options{}))
	sb := m.Sandbox()
	t.Logf("sandbox: %s", sb)
	if sb.Isolation != IsolationNamespaces {
		t.Fatalf("default isolation %q", sb.Isolation)
	}
	if len(sb.Namespaces) == 0 {
		t.Skipf("this host refuses namespaces: %s", sb.Fallback)
	}
	w := invokeWhoami(t, m)
	if w.Pid != 1 {
		t.Errorf("bootstrap pid %d in its PID namespace, want 1", w.Pid)
	}
	hostPid := fmt.Sprint(onlyEnvPid(t, m))
	for _, ns := range sb.Namespaces {
		if got, self := nsLink(t, hostPid, ns), nsLink(t, "self", ns); got == self {
			t.Errorf("environment shares the %s namespace %s", ns, got)
		}
	}
	if got, self := nsLink(t, hostPid, "net"), nsLink(t, "self", "net"); got != self {
		t.Errorf("environment has its own network namespace %s", got)
	}
	host, _ := os.Hostname()
	if sb.PrivateProc {
		if w.Hostname != sandboxHostname || w.Procs != 1 {
			t.Errorf("with a private /proc: hostname %q, %d processes visible; want %q and 1", w.Hostname, w.Procs, sandboxHostname)
		}
	} else if w.Hostname != host || w.Procs < 2 {
		t.Errorf("without a private /proc: hostname %q, %d processes visible; want the host's %q and all", w.Hostname, w.Procs, host)
	}
	if w.UID != os.Getuid() {
		t.Errorf("uid %d inside, want %d", w.UID, os.Getuid())
	}
	if os.Getuid() != 0 && w.CapEff != "0000000000000000" {
		t.Errorf("effective capabilities %s inside the user namespace, want none", w.CapEff)
	}
	if again := m.Sandbox(); again.String() != sb.String() {
		t.Errorf("Sandbox changed after an environment started: %s, was %s", again, sb)
	}
}

// TestSandboxFallback makes the "host" refuse the helper's set-up (a host
// name the kernel rejects), then the namespaces themselves (an invalid
// clone flag): environments still run, one level down, and Sandbox says
// why.
func TestSandboxFallback(t *testing.T) { poolModes(t, testSandboxFallback) }

func testSandboxFallback(t *testing.T, withPool func(Options) Options) {
	t.Run("setup refused", func(t *testing.T) {
		m := newManager(t, testConfig(t), withPool(Options{}))
		m.sb.hostname = strings.Repeat("h", 100) // sethostname: EINVAL beyond 64 bytes
		w := invokeWhoami(t, m)
		sb := m.Sandbox()
		t.Logf("sandbox: %s", sb)
		if sb.PrivateProc || !strings.Contains(sb.Fallback, "setting the host name") {
			t.Fatalf("after a refused set-up: %+v", sb)
		}
		if len(sb.Namespaces) > 0 && (w.Pid != 1 || w.Procs < 2) {
			t.Errorf("at the basic level: pid %d, %d processes visible", w.Pid, w.Procs)
		}
	})
	t.Run("namespaces refused", func(t *testing.T) {
		m := newManager(t, testConfig(t), withPool(Options{}))
		m.sb.refuseFlags = syscall.CLONE_THREAD // EINVAL without CLONE_SIGHAND
		w := invokeWhoami(t, m)
		sb := m.Sandbox()
		t.Logf("sandbox: %s", sb)
		if len(sb.Namespaces) != 0 || strings.Count(sb.Fallback, "invalid argument") != 2 {
			t.Fatalf("after refused namespaces: %+v", sb)
		}
		if hostPid := onlyEnvPid(t, m); w.Pid != hostPid {
			t.Errorf("pid %d inside, %d on the host", w.Pid, hostPid)
		}
		invokeWhoami(t, m) // a second environment goes straight to the level that works
	})
	t.Run("probe before any environment", func(t *testing.T) {
		m := newManager(t, testConfig(t), withPool(Options{}))
		m.sb.refuseFlags = syscall.CLONE_THREAD
		if sb := m.Sandbox(); len(sb.Namespaces) != 0 || sb.Fallback == "" {
			t.Fatalf("probe: %+v", sb)
		}
		invokeWhoami(t, m)
	})
}

// TestSandboxProcessIsolation checks that IsolationProcess uses no
// namespace.
func TestSandboxProcessIsolation(t *testing.T) {
	m := newManager(t, testConfig(t), Options{Isolation: IsolationProcess})
	sb := m.Sandbox()
	if len(sb.Namespaces) != 0 || sb.PrivateProc || sb.Fallback != "" {
		t.Errorf("process isolation: %+v", sb)
	}
	w := invokeWhoami(t, m)
	if hostPid := onlyEnvPid(t, m); w.Pid != hostPid {
		t.Errorf("pid %d inside, %d on the host", w.Pid, hostPid)
	}
	hostPid := fmt.Sprint(onlyEnvPid(t, m))
	if got, self := nsLink(t, hostPid, "pid"), nsLink(t, "self", "pid"); got != self {
		t.Errorf("process isolation created a PID namespace")
	}
}

// processesNamed lists the /proc entries whose command name is name, and
// how many of them are zombies.
func processesNamed(name string) (all, zombies int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || string(b[open+1:end]) != name {
			continue
		}
		all++
		if end+2 < len(b) && (b[end+2] == 'Z' || b[end+2] == 'X') {
			zombies++
		}
	}
	return all, zombies
}

// TestSandboxTimeoutLeavesNoProcess leaves an orphaned grandchild in its
// own session (outside the process group) and times the environment out:
// nothing may survive. In a PID namespace, killing its init kills it (and
// the kernel reaps it); without one, the cgroup v1 clean-up kills it (its
// zombie then belongs to the host's init).
func TestSandboxTimeoutLeavesNoProcess(t *testing.T) { poolModes(t, testSandboxTimeoutLeavesNoProcess) }

func testSandboxTimeoutLeavesNoProcess(t *testing.T, withPool func(Options) Options) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"namespaces", Options{DisableCgroupV1: true}},
		{"process+cgroup1", Options{Isolation: IsolationProcess}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Timeout = time.Second
			m := newManager(t, cfg, withPool(tc.opts))
			sb := m.Sandbox()
			ns := len(sb.Namespaces) > 0
			switch {
			case tc.opts.Isolation == IsolationNamespaces && !ns:
				t.Skipf("this host refuses namespaces: %s", sb.Fallback)
			case tc.opts.Isolation == IsolationProcess && sb.Memory != "cgroup1":
				t.Skipf("no cgroup v1 memory hierarchy (memory: %s)", sb.Memory)
			}
			name := "fbk" + randHex(6)
			if res := invoke(t, m, `{"action":"fork","message":"`+name+`"}`); res.FunctionError != "" {
				t.Fatalf("fork: %s", res.Payload)
			}
			waitFor(t, "the grandchild to run", func() bool { all, z := processesNamed(name); return all-z == 1 })
			res := invoke(t, m, `{"action":"sleep","ms":600000}`)
			if res.ErrorType != "Sandbox.Timedout" {
				t.Fatalf("ErrorType %q: %s", res.ErrorType, res.Payload)
			}
			waitFor(t, "the grandchild to be gone", func() bool {
				all, z := processesNamed(name)
				if ns {
					return all == 0 // not even a zombie
				}
				return all == z
			})
		})
	}
}

// TestSandboxCgroupV1Memory runs where this process's cgroup v1 memory
// hierarchy is writable: the kernel enforces MemorySize, the OOM kill is
// reported as Lambda does, Max Memory Used comes from the cgroup, and the
// cgroup is removed with the environment.
func TestSandboxCgroupV1Memory(t *testing.T) { poolModes(t, testSandboxCgroupV1Memory) }

func testSandboxCgroupV1Memory(t *testing.T, withPool func(Options) Options) {
	cfg := testConfig(t)
	cfg.MemoryMB = 128
	m := newManager(t, cfg, withPool(Options{DisableMemoryPolling: true}))
	if sb := m.Sandbox(); sb.Memory != "cgroup1" {
		t.Skipf("no writable cgroup v1 memory hierarchy (memory: %s)", sb.Memory)
	}
	small := invoke(t, m, `{"action":"alloc","alloc_mb":20,"ms":10}`)
	if small.FunctionError != "" || small.MaxMemoryUsedMB < 20 || small.MaxMemoryUsedMB > 128 {
		t.Errorf("20 MB: %q, Max Memory Used %d MB", small.FunctionError, small.MaxMemoryUsedMB)
	}
	m.mu.Lock()
	var dir string
	for e := range m.all {
		if e.cg == nil || !e.cg.v1 {
			t.Fatal("environment without a cgroup v1")
		}
		dir = e.cg.dir
	}
	m.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(dir, "memory.limit_in_bytes")); err != nil || strings.TrimSpace(string(b)) != "134217728" {
		t.Errorf("memory.limit_in_bytes = %q, %v", b, err)
	}

	res := invoke(t, m, `{"action":"alloc","alloc_mb":300,"ms":100}`)
	msg, typ := errorDocument(t, res.Payload)
	if typ != "Runtime.OutOfMemory" || msg != "RequestId: "+res.RequestID+" Error: Runtime exited with error: signal: killed" {
		t.Errorf("over the memory limit: %q/%q", msg, typ)
	}
	if res.Status != StatusError || res.Report.ErrorType != "Runtime.OutOfMemory" {
		t.Errorf("Status %q, REPORT error type %q", res.Status, res.Report.ErrorType)
	}
	if res.MaxMemoryUsedMB < 120 || res.MaxMemoryUsedMB > 129 {
		t.Errorf("Max Memory Used %d MB after an OOM kill at 128 MB", res.MaxMemoryUsedMB)
	}
	waitFor(t, "the killed environment's cgroup to be removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
	if again := invoke(t, m, `{"action":"echo"}`); again.FunctionError != "" || !again.ColdStart {
		t.Errorf("after the OOM kill: %q cold %v", again.FunctionError, again.ColdStart)
	}
}

func TestCgroupV1Files(t *testing.T) {
	// A plain directory checks the layout and the parsing; the kernel's
	// behaviour is covered by TestSandboxCgroupV1Memory.
	parent := t.TempDir()
	cg, err := newCgroupV1(parent, "env1", 256)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"memory.limit_in_bytes": "268435456", "memory.memsw.limit_in_bytes": "268435456"} {
		if b, err := os.ReadFile(filepath.Join(cg.dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if !cg.v1 || cg.fd != -1 {
		t.Errorf("cgroup %+v", cg)
	}
	_ = os.WriteFile(filepath.Join(cg.dir, "memory.max_usage_in_bytes"), []byte("10485760\n"), 0o644)
	_ = os.WriteFile(filepath.Join(cg.dir, "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 0o644)
	if got := cg.peakKB(); got != 10240 {
		t.Errorf("peakKB = %d", got)
	}
	if got := cg.oomKills(); got != 3 {
		t.Errorf("oomKills = %d", got)
	}
	_ = os.WriteFile(filepath.Join(cg.dir, "memory.oom_control"), []byte("oom_kill_disable 0\nunder_oom 0\n"), 0o644)
	_ = os.WriteFile(filepath.Join(cg.dir, "memory.failcnt"), []byte("7\n"), 0o644)
	if got := cg.oomKills(); got != 1 {
		t.Errorf("oomKills from failcnt = %d", got)
	}
	// The clean-up kills what cgroup.procs lists.
	cmd := exec.Command(handlerBin(t))
	cmd.Env = []string{"TEST_INIT=hang"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := cg.join(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	cg.killMembers()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("process listed in cgroup.procs: %v, want killed", err)
	}
	_ = os.Remove(filepath.Join(cg.dir, "cgroup.procs")) // its pid may be reused now
	// A plain directory with files cannot be rmdir'ed.
	if err := cg.remove(); err == nil {
		t.Error("removing a plain directory with files succeeded")
	}
}

func TestV1MemoryDir(t *testing.T) {
	const hybrid = `25 30 0:21 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 25 0:26 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory
`
	for _, tc := range []struct{ name, self, mountinfo, want string }{
		{"hybrid", "5:cpu,cpuacct:/x\n4:memory:/user.slice/app\n0::/user.slice/app\n", hybrid, "/sys/fs/cgroup/memory/user.slice/app"},
		{"root", "4:memory:/\n", hybrid, "/sys/fs/cgroup/memory"},
		{"container bind mount", "4:memory:/docker/abc\n",
			"40 30 0:31 /docker/abc /sys/fs/cgroup/mem\\040ory ro - cgroup cgroup rw,memory\n", "/sys/fs/cgroup/mem ory"},
		{"outside the mounted sub-tree", "4:memory:/other\n",
			"40 30 0:31 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n", ""},
		{"no memory controller line", "0::/user.slice\n", hybrid, ""},
		{"pure cgroup v2", "0::/\n", "31 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", ""},
	} {
		if got := v1MemoryDir(tc.self, tc.mountinfo); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSandboxStateDowngrade(t *testing.T) {
	var s sandboxState
	log := slog.New(slog.DiscardHandler)
	if s.effective() != nsFull {
		t.Fatal("does not start at the full level")
	}
	if _, confirmed, _ := s.get(); confirmed {
		t.Fatal("confirmed before any attempt")
	}
	s.downgrade(nsFull, "mounting /proc: operation not permitted", log)
	s.downgrade(nsFull, "again, from a concurrent start", log) // no double step
	if l, confirmed, reason := s.get(); l != nsBasic || confirmed || !strings.Contains(reason, "mounting /proc") || strings.Contains(reason, "again") {
		t.Fatalf("after one refusal: %v %v %q", l, confirmed, reason)
	}
	s.settle(nsFull) // a concurrent start at the old level cannot confirm the new one
	if _, confirmed, _ := s.get(); confirmed {
		t.Fatal("confirmed by a start at another level")
	}
	s.settle(nsBasic)
	if l, confirmed, _ := s.get(); l != nsBasic || !confirmed {
		t.Fatalf("after success: %v %v", l, confirmed)
	}
	s.downgrade(nsBasic, "clone: operation not permitted", log)
	s.downgrade(nsNone, "cannot go lower", log)
	if l, confirmed, reason := s.get(); l != nsNone || !confirmed || !strings.Contains(reason, "; pid+ipc+uts namespaces: clone") {
		t.Fatalf("after two refusals: %v %v %q", l, confirmed, reason)
	}
	sb := Sandbox{Namespaces: nil, Memory: "polling", Fallback: "x"}
	if got := sb.String(); got != "process group, memory polling (fallback: x)" {
		t.Errorf("String = %q", got)
	}
}

// TestSandboxDiesWithFogbank SIGKILLs a process that runs an environment
// (this test binary again, running holdEnvironment) in the middle of an
// invocation: the environment and the orphan it left behind must die with
// it (Pdeathsig on the namespace's init). With a pool, the started
// environment and the idle helpers die too.
func TestSandboxDiesWithFogbank(t *testing.T) {
	if os.Getenv("FUNCRT_HOLD_ENVIRONMENT") != "" {
		holdEnvironment(t)
		return
	}
	for _, pooled := range []bool{false, true} {
		t.Run(map[bool]string{false: "unpooled", true: "pooled"}[pooled], func(t *testing.T) { testSandboxDiesWithFogbank(t, pooled) })
	}
}

func testSandboxDiesWithFogbank(t *testing.T, pooled bool) {
	m := newManager(t, testConfig(t), Options{})
	if sb := m.Sandbox(); len(sb.Namespaces) == 0 {
		t.Skipf("this host refuses namespaces: %s", sb.Fallback)
	}
	name := "fbk" + randHex(6)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxDiesWithFogbank$")
	// The killed holder cannot clean up: its temporary files go in ours.
	cmd.Env = append(os.Environ(), "FUNCRT_HOLD_ENVIRONMENT="+name, "FOGBANK_TEST_HANDLER="+handlerBin(t), "TMPDIR="+t.TempDir(),
		"FUNCRT_HOLD_POOL="+strconv.FormatBool(pooled))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line := make([]byte, 64)
	n, _ := out.Read(line)
	fields := strings.Fields(string(line[:n]))
	if len(fields) == 0 || fields[0] != "ready" || pooled != (len(fields) > 1) {
		t.Fatalf("holder said %q", line[:n])
	}
	if all, z := processesNamed(name); all-z != 1 {
		t.Fatalf("%d live processes named %s before the kill", all-z, name)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	waitFor(t, "the environment to die with its parent", func() bool { all, _ := processesNamed(name); return all == 0 })
	for _, f := range fields[1:] {
		pid, _ := strconv.Atoi(f)
		waitFor(t, "the idle helper "+f+" to die with its parent", func() bool {
			b, err := os.ReadFile("/proc/" + f + "/stat")
			return pid <= 0 || err != nil || !statAlive(b)
		})
	}
}

// holdEnvironment runs in the child of TestSandboxDiesWithFogbank: it
// leaves an orphan named after FUNCRT_HOLD_ENVIRONMENT in an environment
// whose handler then sleeps (so the runtime does not notice that its
// Runtime API went away), says "ready" and waits to be killed.
func holdEnvironment(t *testing.T) {
	cfg := testConfig(t)
	cfg.Timeout = 10 * time.Minute
	opts := Options{DisableCgroupV1: true, SandboxPool: NewSandboxPool(0, nil)}
	var p *SandboxPool
	if os.Getenv("FUNCRT_HOLD_POOL") == "true" {
		p = filledPool(t, 2, false) // this process is killed: it could not remove cgroups
		opts.SandboxPool = p
	}
	m := newManager(t, cfg, opts)
	name := os.Getenv("FUNCRT_HOLD_ENVIRONMENT")
	go func() {
		_, _ = m.Invoke(context.Background(), Request{Payload: []byte(`{"action":"fork","message":"` + name + `","ms":600000}`)})
	}()
	waitFor(t, "the grandchild to run", func() bool { all, z := processesNamed(name); return all-z == 1 })
	ready := "ready"
	if p != nil {
		// The environment took one helper; the pool refills only after
		// the first invocation, which here never ends: refill it by hand.
		if poolTaken(p) != 1 || len(idlePids(p)) != 1 || !waitIdle(p, 2) {
			t.Fatal("the environment did not come from the pool, or the pool was not refilled")
		}
		for _, pid := range idlePids(p) {
			ready += " " + strconv.Itoa(pid)
		}
	}
	fmt.Println(ready)
	time.Sleep(10 * time.Minute)
}
