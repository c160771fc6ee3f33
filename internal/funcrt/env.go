package funcrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// environment is one execution environment: a runtime process, its Runtime
// API endpoint, its log stream and its private temp dir. It serves one
// invocation at a time; the Manager guarantees that.
type environment struct {
	m                  *Manager
	stream             string
	provisioned        bool      // guarded by m.mu; Prewarm may demote it
	idleSince          time.Time // guarded by m.mu
	startedProvisioned bool      // started as provisioned (AWS_LAMBDA_INITIALIZATION_TYPE); immutable

	api    *runtimeAPI
	logs   *logCapture
	logW   *os.File
	tmpDir string
	cg     *cgroupEnv
	// cgMade is set once cg has been made or taken over (see ensureCgroup);
	// helperCg is a pooled helper's cgroup the environment did not take
	// over (no limit), removed with it. Both are touched only by the
	// goroutine starting the environment, then by destroy.
	cgMade   bool
	helperCg *cgroupEnv
	// cgJoin reports the end of the move into a cgroup v1 (nil without
	// one); cgFailed is set when that move failed, so the memory limit is
	// the polled one. cgFailed is touched only by the goroutine holding
	// the environment.
	cgJoin   <-chan error
	cgFailed bool
	cmd      *exec.Cmd
	pid      int

	exited    chan struct{} // closed when the root process has been waited for
	exitState *os.ProcessState

	mem    *memSampler
	peakKB int64 // touched only by the goroutine holding the environment (or writing its report)
	// reporting is closed when the last invocation's deferred END and
	// REPORT lines are written (nil when none are pending); touched only
	// by the goroutine holding the environment.
	reporting chan struct{}
	// firstDone is closed when the environment's first invocation has
	// ended, its deferred log lines included (see firstInvocationDone).
	firstDone chan struct{}
	firstOnce sync.Once

	mu          sync.Mutex // guards dead against a concurrent start
	dead        bool
	destroyOnce sync.Once
}

// initFailure is why an environment could not be initialised.
type initFailure struct {
	errType string
	message string // without the "RequestId: ... Error: " prefix
	payload []byte // the runtime's own error document (init/error), if any
	status  string
	dur     time.Duration
}

// newEnvironment prepares (but does not start) an environment.
func (m *Manager) newEnvironment(provisioned bool) (*environment, error) {
	e := &environment{m: m, provisioned: provisioned, startedProvisioned: provisioned, exited: make(chan struct{}), firstDone: make(chan struct{}),
		stream: logStreamName(m.clk.Now(), m.cfg.Version)}
	var err error
	if e.tmpDir, err = m.takeTmp(); err != nil {
		return nil, fmt.Errorf("funcrt: environment temp dir: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		_ = os.RemoveAll(e.tmpDir)
		return nil, fmt.Errorf("funcrt: environment log pipe: %w", err)
	}
	e.logW = w
	e.logs = newLogCapture(r, m.opts.Sink, m.clk, m.cfg.FunctionName, m.cfg.logGroup(), e.stream)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		e.logs.run()
	}()
	if e.api, err = newRuntimeAPI(); err != nil {
		e.destroy()
		return nil, err
	}
	return e, nil
}

// bootstrapArgv finds the command that starts the runtime.
func (e *environment) bootstrapArgv() ([]string, *initFailure) {
	cfg := &e.m.cfg
	if len(cfg.Bootstrap) > 0 {
		return cfg.Bootstrap, nil
	}
	cands := []string{filepath.Join(cfg.CodeDir, "bootstrap")}
	if e.m.optDir != "" {
		cands = append(cands, filepath.Join(e.m.optDir, "bootstrap"))
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return []string{c}, nil
		}
	}
	return nil, &initFailure{errType: errTypeInvalidEntry, status: StatusError,
		message: "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}
}

// start spawns the runtime and waits for its first /next (the end of init).
// A non-nil error means the caller's context ended or the host failed.
func (e *environment) start(ctx context.Context) (time.Duration, *initFailure, error) {
	m := e.m
	e.logs.platform(initStartLine(m.cfg.runtimeVersion(), m.cfg.region()))
	argv, fail := e.bootstrapArgv()
	if fail != nil {
		_ = e.logW.Close()
		return 0, fail, nil
	}
	if m.cgroupParent != "" || m.opts.Isolation != IsolationNamespaces || !m.opts.SandboxPool.bornInCgroups() {
		// Otherwise a pooled helper may bring the cgroup (see spawnPooled).
		e.ensureCgroup()
	}
	env := buildEnv(&m.cfg, envInputs{runtimeAPI: e.api.addr(), logStream: e.stream, optDir: m.optDir,
		tmpDir: e.tmpDir, provisioned: e.startedProvisioned})
	t0 := time.Now()
	e.mu.Lock()
	if e.dead {
		e.mu.Unlock()
		return 0, nil, ErrClosed
	}
	err := e.spawn(argv, env)
	_ = e.logW.Close()
	if err != nil {
		e.cmd = nil
		e.mu.Unlock()
		return 0, &initFailure{errType: errTypeInvalidEntry, status: StatusError, message: e.startErrorMessage(err)}, nil
	}
	e.pid = e.cmd.Process.Pid
	e.mem = newMemSampler(e.pid)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		_ = e.cmd.Wait()
		e.exitState = e.cmd.ProcessState
		close(e.exited)
	}()
	e.mu.Unlock()

	timer := time.NewTimer(m.opts.InitTimeout)
	defer timer.Stop()
	select {
	case <-e.api.initDone:
		if e.cgJoin != nil {
			if err := <-e.cgJoin; err != nil {
				m.log.Warn("joining the cgroup failed; memory limit is best effort", "err", err)
				e.cgFailed = true
			}
		}
		return time.Since(t0), nil, nil
	case <-e.api.initFailed:
		o := e.api.initOut
		return 0, &initFailure{errType: o.errType, payload: o.payload, status: StatusError, dur: time.Since(t0)}, nil
	case <-e.exited:
		select {
		case <-e.api.initDone:
			return time.Since(t0), nil, nil
		default:
		}
		return 0, &initFailure{errType: errTypeExit, status: StatusError, message: exitMessage(e.exitState), dur: time.Since(t0)}, nil
	case <-timer.C:
		killGroup(e.pid)
		return 0, &initFailure{errType: errTypeTimeout, status: StatusTimeout, dur: time.Since(t0),
			message: fmt.Sprintf("Task timed out after %.2f seconds", m.opts.InitTimeout.Seconds())}, nil
	case <-ctx.Done():
		killGroup(e.pid)
		return 0, nil, fmt.Errorf("funcrt: init: %w", ctx.Err())
	}
}

// ensureCgroup makes the environment's memory cgroup (see newEnvCgroup)
// unless it has one, or tried to make it, already.
func (e *environment) ensureCgroup() {
	if !e.cgMade {
		e.cgMade = true
		e.cg = e.m.newEnvCgroup()
	}
}

// startErrorMessage renders an exec failure as Lambda does
// ("fork/exec /var/task/bootstrap: permission denied").
func (e *environment) startErrorMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s %s: %s", "fork/exec", logicalPath(pe.Path, e.m.cfg.CodeDir, e.m.optDir), pe.Err)
	}
	return strings.ReplaceAll(err.Error(), e.m.cfg.CodeDir, "/var/task")
}

// exitMessage is Lambda's text for a runtime that exited.
func exitMessage(ps *os.ProcessState) string {
	if ps == nil || ps.Success() {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + ps.String()
}

func (e *environment) isExited() bool {
	select {
	case <-e.exited:
		return true
	default:
		return false
	}
}

// failedInit turns an init failure into the invocation's result, with the
// log lines Lambda writes for it.
func (e *environment) failedInit(req *Request, f *initFailure) Result {
	m := e.m
	e.logs.flush()
	e.logs.platform(initReportLine(f.dur, f.status, f.errType))
	e.logs.begin()
	e.logs.platform(startLine(req.RequestID, m.cfg.Version))
	payload := f.payload
	if len(payload) == 0 {
		payload = errorDoc("RequestId: "+req.RequestID+" Error: "+f.message, f.errType)
		e.logs.platform("RequestId: " + req.RequestID + " Error: " + f.message + "\n" + f.errType + "\n")
	}
	if e.pid > 0 {
		killGroup(e.pid) // a failed init never runs again
		select {
		case <-e.exited:
		case <-time.After(2 * time.Second):
		}
	}
	e.samplePeak()
	rep := Report{RequestID: req.RequestID, Duration: f.dur, BilledDurationMs: billedMs(f.dur),
		MemorySizeMB: m.cfg.MemoryMB, MaxMemoryUsedMB: kbToMB(e.peakKB), Status: StatusError, ErrorType: f.errType}
	e.logs.platform(endLine(req.RequestID))
	e.logs.platform(rep.Line())
	return Result{RequestID: req.RequestID, Payload: payload, FunctionError: FunctionErrorUnhandled,
		ErrorType: f.errType, Status: StatusError, LogTail: e.logs.end(), Duration: f.dur,
		BilledDurationMs: rep.BilledDurationMs, MemorySizeMB: m.cfg.MemoryMB, MaxMemoryUsedMB: rep.MaxMemoryUsedMB,
		ColdStart: true, ExecutedVersion: m.cfg.Version, LogStream: e.stream, Report: rep}
}

// errRedispatch reports that the environment died before its runtime took
// the invocation, so the invocation can safely run elsewhere.
var errRedispatch = errors.New("funcrt: environment lost before delivery")

// invoke runs one invocation. It reports whether the environment may be
// reused.
func (e *environment) invoke(ctx context.Context, req *Request, cold bool, initDur time.Duration) (Result, bool, error) {
	m := e.m
	e.awaitReport()
	if e.isExited() || e.mem == nil || !e.mem.alive() {
		return Result{}, false, errRedispatch // died while idle
	}
	now := time.Now()
	inv := &invocation{
		id:       req.RequestID,
		payload:  req.Payload,
		deadline: now.Add(m.cfg.Timeout),
		arn:      req.InvokedFunctionARN,
		traceID:  req.TraceID,
		done:     make(chan struct{}),
	}
	if inv.arn == "" {
		inv.arn = m.cfg.FunctionARN
	}
	if inv.traceID == "" {
		inv.traceID = newTraceID(now)
	}
	if req.ClientContext != "" {
		inv.clientCtx = req.ClientContext
	}
	if req.CognitoIdentityID != "" || req.CognitoIdentityPoolID != "" {
		b, _ := json.Marshal(map[string]string{"cognitoIdentityId": req.CognitoIdentityID, "cognitoIdentityPoolId": req.CognitoIdentityPoolID})
		inv.cognito = string(b)
	}

	e.logs.flush() // init output (or the previous invocation's stragglers) before START
	if !req.DeferReport {
		e.logs.begin()
	}
	e.logs.platform(startLine(req.RequestID, m.cfg.Version))

	timer := time.NewTimer(m.cfg.Timeout)
	defer timer.Stop()
	// The best-effort memory limit (no cgroup) is polled in this select
	// loop rather than by a goroutine of its own.
	var memTick <-chan time.Time
	if (e.cg == nil || e.cgFailed) && !m.opts.DisableMemoryPolling && e.pid > 0 {
		t := time.NewTicker(memPollInterval)
		defer t.Stop()
		memTick = t.C
	}
	limitKB := int64(m.cfg.MemoryMB) << 10
	t0 := time.Now()
	e.api.dispatch(inv)

	var (
		o       outcome
		status  = StatusSuccess
		reuse   = true
		message string // platform error text for timeouts and crashes
	)
wait:
	for {
		select {
		case <-inv.done:
			o = inv.out
		case <-e.exited:
			select {
			case <-inv.done:
				o = inv.out
			default:
				if e.api.withdraw(inv) {
					e.logs.end()
					return Result{}, false, errRedispatch
				}
				reuse = false
				o.errType = errTypeExit
				if e.cg != nil && e.cg.oomKills() > 0 {
					o.errType = errTypeOOM
				}
				message = exitMessage(e.exitState)
			}
		case <-memTick:
			if _, rss := e.mem.sample(); rss <= limitKB {
				continue wait
			}
			killGroup(e.pid)
			reuse = false
			o.errType = errTypeOOM
			message = "Runtime exited with error: signal: killed"
		case <-timer.C:
			select {
			case <-inv.done:
				o = inv.out
			default:
				killGroup(e.pid)
				reuse = false
				status = StatusTimeout
				o.errType = errTypeTimeout
				message = fmt.Sprintf("Task timed out after %.2f seconds", m.cfg.Timeout.Seconds())
			}
		case <-ctx.Done():
			killGroup(e.pid)
			e.logs.end()
			return Result{}, false, fmt.Errorf("funcrt: invoke: %w", ctx.Err())
		}
		break
	}
	dur := time.Since(t0)
	if status == StatusTimeout && dur < m.cfg.Timeout {
		dur = m.cfg.Timeout
	}
	if message != "" {
		if status != StatusTimeout {
			status = StatusError
		}
		o.isError = true
		o.payload = errorDoc("RequestId: "+req.RequestID+" Error: "+message, o.errType)
	} else if o.isError {
		status = StatusError
	}
	billed := billedMs(dur)
	if cold {
		billed = billedMs(dur + initDur)
	}
	res := Result{RequestID: req.RequestID, Payload: o.payload, Status: status,
		Duration: dur, BilledDurationMs: billed, MemorySizeMB: m.cfg.MemoryMB,
		ColdStart: cold, InitDuration: initDur, ExecutedVersion: m.cfg.Version, LogStream: e.stream}
	if o.isError {
		res.FunctionError = FunctionErrorUnhandled
		res.ErrorType = o.errType
	}
	rep := Report{RequestID: req.RequestID, Duration: dur, BilledDurationMs: billed, MemorySizeMB: m.cfg.MemoryMB,
		InitDuration: initDur, Status: status}
	if status == StatusError && message != "" {
		rep.ErrorType = o.errType
	}

	if req.DeferReport && message == "" {
		// The runtime answered and the environment stays: hand the result
		// back now and write the rest of the invocation's log (its
		// remaining output, END, REPORT with the memory sample) on the
		// side. The next invocation in this environment waits for it.
		res.Report = rep
		done := make(chan struct{})
		e.reporting = done
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(done)
			e.logs.flush()
			e.samplePeak()
			rep.MaxMemoryUsedMB = kbToMB(e.peakKB)
			e.logs.platform(endLine(req.RequestID))
			e.logs.platform(rep.Line())
			e.firstInvocationDone()
		}()
		return res, true, nil
	}

	e.logs.flush()
	switch {
	case status == StatusTimeout:
		e.logs.platform(timeoutLine(m.clk.Now(), req.RequestID, m.cfg.Timeout))
	case message != "":
		e.logs.platform("RequestId: " + req.RequestID + " Error: " + message + "\n" + o.errType + "\n")
	}
	if !reuse {
		// The group was killed or exited: wait (briefly) for the root
		// process, so its rusage peak can be read.
		select {
		case <-e.exited:
		case <-time.After(2 * time.Second):
		}
	}
	if e.isExited() {
		reuse = false
	}
	e.samplePeak()
	rep.MaxMemoryUsedMB = kbToMB(e.peakKB)
	e.logs.platform(endLine(req.RequestID))
	e.logs.platform(rep.Line())
	res.MaxMemoryUsedMB = rep.MaxMemoryUsedMB
	res.Report = rep
	res.LogTail = e.logs.end()
	e.firstInvocationDone()
	return res, reuse, nil
}

// firstInvocationDone marks the end of an invocation; the first one
// closes firstDone.
func (e *environment) firstInvocationDone() {
	e.firstOnce.Do(func() { close(e.firstDone) })
}

// awaitReport waits until the previous invocation's deferred log lines
// are written (see Request.DeferReport).
func (e *environment) awaitReport() {
	if e.reporting != nil {
		<-e.reporting
		e.reporting = nil
	}
}

// samplePeak folds the environment's current peak memory into peakKB.
func (e *environment) samplePeak() {
	var kb int64
	exited := e.isExited()
	if e.pid > 0 && !exited {
		kb, _ = e.mem.sample()
	}
	if e.cg != nil && !e.cgFailed {
		// The cgroup's peak is what the limit applies to. It misses what
		// the runtime touched before it was moved into a v1 cgroup, so the
		// live tree's own peak is a floor; the ru_maxrss of an exited root
		// is not used: it also counts shared file pages charged elsewhere
		// and would exceed the limit after an OOM kill.
		kb = max(kb, e.cg.peakKB())
	} else if exited {
		kb = max(kb, maxRSSKB(e.exitState))
	}
	e.peakKB = max(e.peakKB, kb)
}

func kbToMB(kb int64) int {
	return int((kb + 1023) / 1024)
}

// memPollInterval is how often the best-effort memory limit is checked.
const memPollInterval = 20 * time.Millisecond

// destroy kills the environment and releases its resources; the clean-up
// finishes in the background (tracked by the Manager's wait group).
func (e *environment) destroy() {
	e.destroyOnce.Do(func() {
		m := e.m
		e.mu.Lock()
		e.dead = true
		started := e.cmd != nil && e.cmd.Process != nil
		killGroup(e.pid)
		e.mu.Unlock()
		if e.api != nil {
			e.api.close()
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if started {
				<-e.exited
				killGroup(e.pid) // stragglers left in the group
				e.mem.close()
			} else {
				_ = e.logW.Close()
			}
			select {
			case <-e.logs.done:
			case <-time.After(2 * time.Second):
			}
			_ = e.logs.r.Close()
			<-e.logs.done
			for _, cg := range []*cgroupEnv{e.cg, e.helperCg} {
				if cg != nil {
					if err := cg.remove(); err != nil {
						m.log.Warn("environment cgroup left behind", "err", err)
					}
				}
			}
			_ = os.RemoveAll(e.tmpDir)
		}()
	})
}
