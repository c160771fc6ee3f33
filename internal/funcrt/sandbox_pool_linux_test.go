//go:build linux

package funcrt

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// waitIdle refills p, as a cold start does once its runtime's init has
// ended (the test may get there first), and waits until p holds n idle
// helpers. It reports false when that cannot happen (the pool is closed,
// disabled, not warmed or smaller than n).
func waitIdle(p *SandboxPool, n int) bool {
	p.refill()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) < n {
		if p.closed || p.disabled != "" || p.starting == 0 {
			return false
		}
		p.cond.Wait()
	}
	return true
}

// fullPool returns a warmed pool of n helpers, full, closed at the end of
// the test (after the test's Managers, which are created later). Its
// helpers are born in memory cgroups where cgroup v1 allows it.
func fullPool(t testing.TB, n int) *SandboxPool { return filledPool(t, n, true) }

// filledPool is fullPool; cgroupV1 says whether the helpers get cgroups.
func filledPool(t testing.TB, n int, cgroupV1 bool) *SandboxPool {
	t.Helper()
	p := NewSandboxPool(n, nil)
	t.Cleanup(func() { _ = p.Close() })
	p.warm(cgroupV1)
	if !waitIdle(p, n) {
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Skipf("no pooled helper on this host: %q", p.disabled)
	}
	return p
}

// poolStarted is how many helpers p has started so far.
func poolStarted(p *SandboxPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// poolTaken returns how many helpers p has handed out.
func poolTaken(p *SandboxPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.taken
}

// idlePids lists the pids of p's idle helpers, oldest first.
func idlePids(p *SandboxPool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, h := range p.idle {
		out = append(out, h.cmd.Process.Pid)
	}
	return out
}

func pidGone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err != nil
}

// poolModes runs f without and with a sandbox helper pool; withPool adds
// the pooled run's pool (full before f starts) to a Manager's options.
// After the pooled run it checks that a pooled helper was used.
func poolModes(t *testing.T, f func(t *testing.T, withPool func(Options) Options)) {
	t.Run("unpooled", func(t *testing.T) {
		f(t, func(o Options) Options {
			if o.SandboxPool == nil {
				o.SandboxPool = NewSandboxPool(0, nil) // not testPool either
			}
			return o
		})
	})
	t.Run("pooled", func(t *testing.T) {
		p := fullPool(t, 2)
		f(t, func(o Options) Options { o.SandboxPool = p; return o })
		if poolTaken(p) == 0 {
			t.Error("no pooled helper was used")
		}
	})
}

// TestSandboxPoolEnvironment checks that a pooled helper gives the
// bootstrap exactly what a helper of its own gives it: environment
// variables (none of Fogbank's), working directory, namespaces and the
// host's view of its pid.
func TestSandboxPoolEnvironment(t *testing.T) {
	t.Setenv("FUNCRT_SHOULD_NOT_LEAK", "1")
	p := fullPool(t, 2)
	cfg := testConfig(t)
	cfg.Env = map[string]string{"MY_VAR": "x y=z"}
	type envOut struct {
		Env map[string]string `json:"env"`
		Cwd string            `json:"cwd"`
	}
	got := map[bool]envOut{}
	for _, pooled := range []bool{false, true} {
		opts := Options{SandboxPool: NewSandboxPool(0, nil)}
		if pooled {
			opts.SandboxPool = p
		}
		m := newManager(t, cfg, opts)
		var out envOut
		if res := invoke(t, m, `{"action":"env"}`); res.FunctionError != "" || json.Unmarshal(res.Payload, &out) != nil {
			t.Fatalf("pooled %v: %s", pooled, res.Payload)
		}
		got[pooled] = out
		if w := invokeWhoami(t, m); len(m.Sandbox().Namespaces) > 0 && (w.Pid != 1 || w.Procs != 1 || w.Hostname != sandboxHostname) {
			t.Errorf("pooled %v: %+v", pooled, w)
		}
	}
	if poolTaken(p) == 0 {
		t.Fatal("the pool was not used")
	}
	plain, pooled := got[false], got[true]
	if pooled.Cwd != cfg.CodeDir || plain.Cwd != cfg.CodeDir {
		t.Errorf("working directory %q pooled, %q not; want %q", pooled.Cwd, plain.Cwd, cfg.CodeDir)
	}
	perEnv := map[string]bool{"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_LAMBDA_RUNTIME_API": true, "TMPDIR": true, "_X_AMZN_TRACE_ID": true}
	for k, v := range plain.Env {
		if pv, ok := pooled.Env[k]; !ok || pv != v && !perEnv[k] {
			t.Errorf("%s=%q without a pool, %q (present %v) with one", k, v, pv, ok)
		}
	}
	for k, v := range pooled.Env {
		if _, ok := plain.Env[k]; !ok {
			t.Errorf("%s=%q only with a pool", k, v)
		}
	}
	if _, ok := pooled.Env["FUNCRT_SHOULD_NOT_LEAK"]; ok || pooled.Env["MY_VAR"] != "x y=z" {
		t.Errorf("pooled environment %v", pooled.Env)
	}
}

// TestSandboxPoolExecErrors checks that a bootstrap the pooled helper
// cannot execute is reported with the errno, as without a pool.
func TestSandboxPoolExecErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(cfg *Config)
		want  string
	}{
		{"not executable", func(cfg *Config) { _ = os.Chmod(filepath.Join(cfg.CodeDir, "bootstrap"), 0o644) },
			"fork/exec /var/task/bootstrap: permission denied"},
		{"missing", func(cfg *Config) { cfg.Bootstrap = []string{filepath.Join(cfg.CodeDir, "nothing")} },
			"fork/exec /var/task/nothing: no such file or directory"},
		{"not a binary", func(cfg *Config) {
			_ = os.WriteFile(filepath.Join(cfg.CodeDir, "bootstrap"), []byte("garbage"), 0o755)
		}, "fork/exec /var/task/bootstrap: exec format error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			poolModes(t, func(t *testing.T, withPool func(Options) Options) {
				cfg := testConfig(t)
				tc.setup(&cfg)
				m := newManager(t, cfg, withPool(Options{}))
				res := invoke(t, m, `{}`)
				msg, typ := errorDocument(t, res.Payload)
				if want := "RequestId: " + res.RequestID + " Error: " + tc.want; msg != want || typ != "Runtime.InvalidEntrypoint" {
					t.Errorf("%s: %q/%q, want %q", tc.name, msg, typ, want)
				}
				if st := m.Stats(); st.Environments != 0 {
					t.Errorf("%s: Stats after the failed start %+v", tc.name, st)
				}
			})
		})
	}
}

// TestSandboxPoolLifecycle covers the pool's own life: helpers that die
// while idle, helpers whose socket closes, a closed pool, a disabled one.
func TestSandboxPoolLifecycle(t *testing.T) {
	t.Run("helper died while idle", func(t *testing.T) {
		p := fullPool(t, 2)
		pids := idlePids(p)
		dead := pids[len(pids)-1] // the one take would hand out first
		_ = syscall.Kill(dead, syscall.SIGKILL)
		waitFor(t, "the killed helper's socket to close", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return !p.idle[len(p.idle)-1].alive()
		})
		h := p.take()
		if h == nil || h.cmd.Process.Pid != pids[0] {
			t.Fatalf("took %v, want the live helper %d", h, pids[0])
		}
		h.discard()
		p.refill() // what the cold start that took h does once started
		if !waitIdle(p, 2) {
			t.Fatal("the pool was not refilled")
		}
		if n := poolStarted(p); n != 4 {
			t.Errorf("%d helpers started, want 4 (2, a replacement for the dead one and for the taken one)", n)
		}
		waitFor(t, "the dead helper to be reaped", func() bool { return pidGone(dead) })
		m := newManager(t, testConfig(t), Options{SandboxPool: p})
		if w := invokeWhoami(t, m); w.Pid != 1 {
			t.Errorf("pid %d in the environment", w.Pid)
		}
	})
	t.Run("helper exits when its socket closes", func(t *testing.T) {
		p := fullPool(t, 1)
		h := p.take()
		_ = h.conn.Close()
		err := h.cmd.Wait()
		if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 1 {
			t.Errorf("helper ended with %v, want exit status 1", err)
		}
		if h.cg != nil {
			if err := h.cg.remove(); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("closed", func(t *testing.T) {
		p := fullPool(t, 2)
		pids := idlePids(p)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if !pidGone(pid) {
				t.Errorf("helper %d outlived Close", pid)
			}
		}
		if h := p.take(); h != nil {
			t.Error("a closed pool handed out a helper")
		}
		p.warm(true)
		if n := poolStarted(p); n != 2 {
			t.Errorf("a closed pool started helpers: %d", n)
		}
		m := newManager(t, testConfig(t), Options{SandboxPool: p})
		if w := invokeWhoami(t, m); w.Pid != 1 || w.Procs != 1 {
			t.Errorf("without the closed pool's helpers: %+v", w)
		}
		_ = p.Close() // again
	})
	t.Run("disabled", func(t *testing.T) {
		for _, p := range []*SandboxPool{nil, NewSandboxPool(0, nil), NewSandboxPool(-1, nil)} {
			p.warm(true)
			if p.take() != nil || p != nil && p.started != 0 {
				t.Errorf("pool %+v handed out or started a helper", p)
			}
			if err := p.Close(); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("host refuses the helper", func(t *testing.T) {
		p := NewSandboxPool(2, nil)
		defer p.Close()
		p.refuseFlags = syscall.CLONE_THREAD // EINVAL without CLONE_SIGHAND
		p.warm(true)
		if waitIdle(p, 1) {
			t.Fatal("a helper started in refused namespaces")
		}
		p.mu.Lock()
		reason := p.disabled
		p.mu.Unlock()
		if reason == "" {
			t.Fatal("the pool was not disabled")
		}
		if p.take() != nil || poolStarted(p) != 2 {
			t.Errorf("a disabled pool went on: %d started", poolStarted(p))
		}
		m := newManager(t, testConfig(t), Options{SandboxPool: p})
		invokeWhoami(t, m)
	})
}

// idleCgroups skips the test unless p's idle helpers were born in memory
// cgroups (a writable cgroup v1 memory hierarchy), and returns their
// directories, the one take hands out first last.
func idleCgroups(t *testing.T, p *SandboxPool) []string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var dirs []string
	for _, h := range p.idle {
		if h.cg == nil {
			t.Skip("pooled helpers get no memory cgroup here (no writable cgroup v1 memory hierarchy)")
		}
		dirs = append(dirs, h.cg.dir)
	}
	return dirs
}

// inCgroup reports whether pid's cgroup v1 memory cgroup is dir.
func inCgroup(t *testing.T, pid int, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "memory") {
			return strings.HasSuffix(dir, f[2])
		}
	}
	return false
}

func cgroupFile(t *testing.T, dir, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitRemoved(t *testing.T, dir string) {
	t.Helper()
	waitFor(t, "cgroup "+filepath.Base(dir)+" to be removed", func() bool {
		_, err := os.Stat(dir)
		return os.IsNotExist(err)
	})
}

// onlyEnv returns the Manager's one environment.
func onlyEnv(t *testing.T, m *Manager) *environment {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.all) != 1 {
		t.Fatalf("%d environments, want 1", len(m.all))
	}
	for e := range m.all {
		return e
	}
	return nil
}

// TestSandboxPoolCgroupAdoption checks that a cold start from a helper
// born in its own memory cgroup makes that cgroup the environment's: the
// function's limit, no move on the cold start, the helper's peak not
// counted as the function's, OOM kills reported, and the cgroup removed
// with the environment.
func TestSandboxPoolCgroupAdoption(t *testing.T) {
	p := fullPool(t, 1)
	dir := idleCgroups(t, p)[0]
	if !inCgroup(t, idlePids(p)[0], dir) {
		t.Fatal("the idle helper is not in its cgroup")
	}
	// Stand-in for what the helper used before the bootstrap: a shell in
	// the helper's cgroup holding 64 MiB, then exiting.
	sh := exec.Command("/bin/sh", "-c", `echo $$ > "$1/cgroup.procs" && x=$(head -c 67108864 /dev/zero | tr '\0' a) && echo ${#x}`, "sh", dir)
	if out, err := sh.Output(); err != nil || strings.TrimSpace(string(out)) != "67108864" {
		t.Fatalf("charging the helper's cgroup: %q, %v", out, err)
	}
	if peak := cgroupFile(t, dir, "memory.max_usage_in_bytes"); peak < 64<<20 {
		t.Fatalf("the helper's cgroup peaked at %d bytes before the cold start, want 64 MiB or more", peak)
	}

	cfg := testConfig(t)
	cfg.MemoryMB = 128
	m := newManager(t, cfg, Options{DisableMemoryPolling: true, SandboxPool: p})
	res := invoke(t, m, `{"action":"echo"}`)
	if res.FunctionError != "" || !res.ColdStart {
		t.Fatalf("cold start: %q %s", res.FunctionError, res.Payload)
	}
	if res.MaxMemoryUsedMB >= 64 {
		t.Errorf("Max Memory Used %d MB: the helper's peak counted as the function's", res.MaxMemoryUsedMB)
	}
	e := onlyEnv(t, m)
	if e.cg == nil || e.cg.dir != dir || e.cgJoin != nil || e.helperCg != nil {
		t.Fatalf("the environment did not adopt the helper's cgroup %s: %+v, moved %v", dir, e.cg, e.cgJoin != nil)
	}
	if !inCgroup(t, e.pid, dir) {
		t.Error("the bootstrap is not in the adopted cgroup")
	}
	for _, name := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil || name == "memory.limit_in_bytes" {
			if got := cgroupFile(t, dir, name); got != 128<<20 {
				t.Errorf("%s = %d, want %d", name, got, 128<<20)
			}
		}
	}

	res = invoke(t, m, `{"action":"alloc","alloc_mb":300,"ms":100}`)
	if res.ErrorType != "Runtime.OutOfMemory" || res.Report.ErrorType != "Runtime.OutOfMemory" {
		t.Errorf("over the memory limit: %q/%q: %s", res.ErrorType, res.Report.ErrorType, res.Payload)
	}
	if res.MaxMemoryUsedMB < 120 || res.MaxMemoryUsedMB > 129 {
		t.Errorf("Max Memory Used %d MB after an OOM kill at 128 MB", res.MaxMemoryUsedMB)
	}
	waitRemoved(t, dir)
}

// TestSandboxPoolCgroupCleanup checks that a helper's cgroup goes with
// the helper (discarded, dead while idle, pool closed) or with the
// environment that took the helper without adopting the cgroup.
func TestSandboxPoolCgroupCleanup(t *testing.T) {
	t.Run("discarded and closed", func(t *testing.T) {
		p := fullPool(t, 2)
		dirs := idleCgroups(t, p)
		h := p.take()
		if h == nil || h.cg == nil || h.cg.dir != dirs[1] {
			t.Fatalf("took %+v, want the helper in %s", h, dirs[1])
		}
		if err := h.discard(); err != nil {
			t.Error(err)
		}
		waitRemoved(t, dirs[1])
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		waitRemoved(t, dirs[0])
	})
	t.Run("died while idle", func(t *testing.T) {
		p := fullPool(t, 2)
		dirs := idleCgroups(t, p)
		pids := idlePids(p)
		_ = syscall.Kill(pids[1], syscall.SIGKILL)
		waitFor(t, "the killed helper's socket to close", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return !p.idle[1].alive()
		})
		h := p.take()
		if h == nil || h.cmd.Process.Pid != pids[0] {
			t.Fatalf("took %v, want the live helper %d", h, pids[0])
		}
		waitRemoved(t, dirs[1])
		if err := h.discard(); err != nil {
			t.Error(err)
		}
		waitRemoved(t, dirs[0])
	})
	t.Run("not adopted", func(t *testing.T) {
		p := fullPool(t, 1)
		dir := idleCgroups(t, p)[0]
		m := newManager(t, testConfig(t), Options{DisableCgroupV1: true, SandboxPool: p})
		if res := invoke(t, m, `{"action":"echo"}`); res.FunctionError != "" {
			t.Fatalf("invoke: %s", res.Payload)
		}
		e := onlyEnv(t, m)
		if e.cg != nil || e.helperCg == nil || e.helperCg.dir != dir {
			t.Fatalf("cgroup %+v, helper's %+v; want none and %s", e.cg, e.helperCg, dir)
		}
		if got := cgroupFile(t, dir, "memory.limit_in_bytes"); got < 1<<50 {
			t.Errorf("the helper's cgroup got a limit: %d", got)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		waitRemoved(t, dir)
	})
}

// TestCgroupV1Limits sets a real cgroup v1 limit up and down: the kernel
// keeps memory.limit_in_bytes at or below memory.memsw.limit_in_bytes, so
// the order of the two writes matters.
func TestCgroupV1Limits(t *testing.T) {
	parent, err := memoryCgroupV1()
	if err != nil {
		t.Skip(err)
	}
	cg, err := makeCgroupV1(parent, "fogbank-test-"+randHex(8))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cg.remove(); err != nil {
			t.Error(err)
		}
	}()
	_, swErr := os.Stat(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes"))
	for _, mb := range []int{256, 512, 128} {
		if err := cg.setLimitV1(mb); err != nil {
			t.Fatalf("%d MB: %v", mb, err)
		}
		if got := cgroupFile(t, cg.dir, "memory.limit_in_bytes"); got != int64(mb)<<20 {
			t.Errorf("%d MB: memory.limit_in_bytes = %d", mb, got)
		}
		if swErr == nil {
			if got := cgroupFile(t, cg.dir, "memory.memsw.limit_in_bytes"); got != int64(mb)<<20 {
				t.Errorf("%d MB: memory.memsw.limit_in_bytes = %d", mb, got)
			}
		}
	}
	if err := cg.resetPeakV1(); err != nil {
		t.Error(err)
	}
}
