package funcrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
)

// Manager runs the execution environments of one function version: it
// starts them on demand (cold start), reuses idle ones (warm start, most
// recently used first, provisioned ones before on-demand ones), runs one
// invocation at a time in each, reaps on-demand environments idle longer
// than Options.IdleTTL and refuses work beyond Options.MaxEnvironments with
// a *ThrottleError. It is safe for concurrent use; Close ends it.
type Manager struct {
	cfg          Config
	opts         Options
	log          *slog.Logger
	clk          clock.Clock
	baseDir      string // per-manager directory holding the merged /opt ("" without layers)
	optDir       string // merged layers ("" without layers)
	cgroupParent string // cgroup v2 parent; "" when not in use
	cgroupV1     string // this process's cgroup v1 memory cgroup; "" when not in use
	sb           sandboxState

	mu          sync.Mutex
	idle        []*environment
	all         map[*environment]bool
	count       int // environments existing or starting
	busy        int
	provisioned int
	closed      bool
	// spareTmp is an environment temporary directory made ahead of need
	// ("" when there is none); makingTmp is set while one is being made.
	spareTmp  string
	makingTmp bool

	stopReaper context.CancelFunc
	wg         sync.WaitGroup
}

// Stats is a snapshot of a Manager's environments.
type Stats struct {
	// Environments counts existing and starting environments.
	Environments int
	// Busy counts environments running (or starting for) an invocation.
	Busy int
	// Idle counts environments ready for an invocation.
	Idle int
	// Provisioned counts provisioned (pre-warmed, never reaped) environments.
	Provisioned int
	// Limit is Options.MaxEnvironments.
	Limit int
}

// New returns a Manager for cfg. It validates cfg, merges the layers into
// the manager's /opt stand-in and starts the idle reaper; no environment
// is started until Invoke or Prewarm. Options.TempDir must be an existing
// directory.
func New(cfg Config, opts Options) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if o.Isolation != IsolationNamespaces && o.Isolation != IsolationProcess {
		return nil, fmt.Errorf("funcrt: isolation %q is not supported (only %q and %q)", o.Isolation, IsolationNamespaces, IsolationProcess)
	}
	m := &Manager{cfg: cfg, opts: o, log: o.Logger.With("component", "funcrt", "function", cfg.FunctionName, "version", cfg.Version),
		clk: o.Clock, all: map[*environment]bool{}}
	// Only layers need a directory of the Manager's own: one mkdir fewer
	// when a function's first invocation creates its Manager.
	if st, err := os.Stat(o.TempDir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fmt.Errorf("funcrt: temp dir %s: %w", o.TempDir, err)
	}
	if len(cfg.LayerDirs) > 0 {
		var err error
		if m.baseDir, err = os.MkdirTemp(o.TempDir, "fogbank-fn-"); err != nil {
			return nil, fmt.Errorf("funcrt: manager dir: %w", err)
		}
		m.optDir = m.baseDir + "/opt"
		if err := mergeLayers(m.optDir, cfg.LayerDirs); err != nil {
			_ = os.RemoveAll(m.baseDir)
			return nil, err
		}
	}
	if o.CgroupParent != "" {
		if isCgroup2(o.CgroupParent) {
			m.cgroupParent = o.CgroupParent
		} else {
			m.log.Warn("cgroup parent is not on cgroup2; memory limits are best effort", "cgroup_parent", o.CgroupParent)
		}
	}
	if m.cgroupParent == "" && !o.DisableCgroupV1 {
		dir, err := o.SandboxPool.memoryCgroupV1()
		if err != nil {
			m.log.Debug("no writable cgroup v1 memory hierarchy; memory limit is best effort", "err", err)
		}
		m.cgroupV1 = dir
	}
	if o.Isolation == IsolationNamespaces {
		o.SandboxPool.warm(m.cgroupV1 != "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopReaper = cancel
	m.wg.Add(1)
	go m.reaper(ctx)
	return m, nil
}

// Config returns the function configuration the Manager runs.
func (m *Manager) Config() Config { return m.cfg }

// Invoke runs req in a warm environment, or starts one (a cold start). A
// function failure (error, crash, timeout, failed init) is a Result with
// FunctionError set and a nil error; errors are for the platform: a
// *ThrottleError when every environment is busy and the limit is reached,
// ErrClosed, ErrPayloadTooLarge, or the context's error (the environment
// running the invocation is then discarded).
func (m *Manager) Invoke(ctx context.Context, req Request) (Result, error) {
	if len(req.Payload) > MaxPayloadSize {
		return Result{}, ErrPayloadTooLarge
	}
	if req.RequestID == "" {
		req.RequestID = newUUID()
	}
	if len(req.Payload) == 0 {
		req.Payload = []byte("{}") // what Lambda delivers when the caller sent no payload
	}
	// An environment that died before its runtime took the invocation is
	// replaced; the invocation never ran, so running it elsewhere is safe.
	for attempt := 0; ; attempt++ {
		e, err := m.acquire()
		if err != nil {
			return Result{}, err
		}
		cold := e == nil
		var initDur time.Duration
		if cold {
			var fail *initFailure
			e, initDur, fail, err = m.startEnvironment(ctx, false)
			if err != nil {
				return Result{}, err
			}
			if fail != nil {
				res := e.failedInit(&req, fail)
				m.release(e, false)
				return res, nil
			}
		}
		res, reuse, err := e.invoke(ctx, &req, cold, initDur)
		m.release(e, reuse)
		if cold {
			m.prepareTmp()
		}
		if errors.Is(err, errRedispatch) && attempt < 2 {
			continue
		}
		return res, err
	}
}

// acquire takes an idle environment, or reserves a slot for a new one
// (returning nil), or fails with a throttle.
func (m *Manager) acquire() (*environment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	for len(m.idle) > 0 {
		i := len(m.idle) - 1
		for j := i; j >= 0; j-- { // provisioned first, as Lambda spills over to on-demand
			if m.idle[j].provisioned {
				i = j
				break
			}
		}
		e := m.idle[i]
		m.idle = append(m.idle[:i], m.idle[i+1:]...)
		if e.isExited() {
			m.dropLocked(e)
			continue
		}
		m.busy++
		return e, nil
	}
	if m.count >= m.opts.MaxEnvironments {
		return nil, &ThrottleError{Limit: m.opts.MaxEnvironments}
	}
	m.count++
	m.busy++
	return nil, nil
}

// startEnvironment creates and initialises an environment in a slot
// already reserved by the caller. On a platform error the slot is released.
func (m *Manager) startEnvironment(ctx context.Context, provisioned bool) (*environment, time.Duration, *initFailure, error) {
	e, err := m.newEnvironment(provisioned)
	if err == nil {
		m.mu.Lock()
		if m.closed {
			err = ErrClosed
		} else {
			m.all[e] = true
			if provisioned {
				m.provisioned++
			}
		}
		m.mu.Unlock()
		if err != nil {
			e.destroy()
		}
	}
	if err != nil {
		m.mu.Lock()
		m.count--
		m.busy--
		m.mu.Unlock()
		return nil, 0, nil, err
	}
	initDur, fail, err := e.start(ctx)
	if err != nil {
		m.release(e, false)
		return nil, 0, nil, err
	}
	return e, initDur, fail, nil
}

// release returns a busy environment to the idle list or discards it.
func (m *Manager) release(e *environment, reuse bool) {
	m.mu.Lock()
	m.busy--
	if !reuse || m.closed || e.isExited() {
		m.dropLocked(e)
		m.mu.Unlock()
		return
	}
	e.idleSince = m.clk.Now()
	m.idle = append(m.idle, e)
	m.mu.Unlock()
}

// dropLocked forgets e and destroys it.
func (m *Manager) dropLocked(e *environment) {
	if !m.all[e] {
		return
	}
	delete(m.all, e)
	m.count--
	if e.provisioned {
		m.provisioned--
	}
	e.destroy()
}

// Prewarm makes n environments provisioned, as provisioned concurrency
// does: it starts and initialises the missing ones (concurrently) and keeps
// them idle and exempt from reaping; when more than n are provisioned, the
// extra ones become on-demand environments (reaped once idle for IdleTTL).
// It fails with a *ThrottleError when the new environments would exceed
// MaxEnvironments, and with an *InitError when an init fails.
func (m *Manager) Prewarm(ctx context.Context, n int) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if n < m.provisioned {
		extra := m.provisioned - n
		for e := range m.all {
			if extra == 0 {
				break
			}
			if e.provisioned {
				e.provisioned = false
				e.idleSince = m.clk.Now()
				m.provisioned--
				extra--
			}
		}
	}
	missing := n - m.provisioned
	if missing <= 0 {
		m.mu.Unlock()
		return nil
	}
	if m.count+missing > m.opts.MaxEnvironments {
		m.mu.Unlock()
		return &ThrottleError{Limit: m.opts.MaxEnvironments}
	}
	m.count += missing
	m.busy += missing
	m.mu.Unlock()

	errs := make([]error, missing)
	var wg sync.WaitGroup
	for i := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, _, fail, err := m.startEnvironment(ctx, true)
			switch {
			case err != nil:
				errs[i] = err
			case fail != nil:
				e.logs.flush()
				e.logs.platform(initReportLine(fail.dur, fail.status, fail.errType))
				m.release(e, false)
				msg := fail.message
				if msg == "" {
					msg = string(fail.payload)
				}
				errs[i] = &InitError{ErrorType: fail.errType, Message: msg}
			default:
				e.logs.flush()
				m.release(e, true)
			}
		}()
	}
	wg.Wait()
	m.prepareTmp()
	return errors.Join(errs...)
}

// Stats returns a snapshot of the environments.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Environments: m.count, Busy: m.busy, Idle: len(m.idle), Provisioned: m.provisioned, Limit: m.opts.MaxEnvironments}
}

// reaper discards on-demand environments idle for IdleTTL or longer. It
// waits on the injected clock.
func (m *Manager) reaper(ctx context.Context) {
	defer m.wg.Done()
	interval := m.opts.IdleTTL / 4
	if interval < time.Millisecond {
		interval = time.Millisecond
	}
	for {
		select {
		case <-m.clk.After(ctx, interval):
			m.reap()
		case <-ctx.Done():
			return
		}
	}
}

func (m *Manager) reap() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clk.Now()
	kept := m.idle[:0]
	for _, e := range m.idle {
		if !e.provisioned && now.Sub(e.idleSince) >= m.opts.IdleTTL || e.isExited() {
			m.dropLocked(e)
			continue
		}
		kept = append(kept, e)
	}
	clear(m.idle[len(kept):])
	m.idle = kept
}

// Close kills every environment (invocations in flight end as runtime
// exits), waits for the clean-up and removes the manager's files. Invoke
// and Prewarm fail with ErrClosed afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.idle = nil
	for e := range m.all {
		e.destroy()
	}
	m.mu.Unlock()
	m.stopReaper()
	m.wg.Wait()
	m.mu.Lock()
	spare := m.spareTmp
	m.spareTmp = ""
	m.mu.Unlock()
	var errs []error
	for _, dir := range []string{spare, m.baseDir} {
		if dir != "" {
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("funcrt: close: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// envTmpPrefix starts the names of environments' temporary directories.
const envTmpPrefix = "fogbank-env-"

// takeTmp returns a new, empty temporary directory for an environment: the
// one made ahead of need if there is one (see prepareTmp), else a new one.
func (m *Manager) takeTmp() (string, error) {
	m.mu.Lock()
	dir := m.spareTmp
	m.spareTmp = ""
	m.mu.Unlock()
	if dir != "" {
		return dir, nil
	}
	return os.MkdirTemp(m.opts.TempDir, envTmpPrefix)
}

// prepareTmp makes, in the background, the temporary directory of the
// next environment, unless there is one already: creating a directory
// costs a cold start a fraction of a millisecond on some file systems. It
// is called once a cold start has answered, so as not to compete with it.
func (m *Manager) prepareTmp() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.spareTmp != "" || m.makingTmp {
		return
	}
	m.makingTmp = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		dir, err := os.MkdirTemp(m.opts.TempDir, envTmpPrefix)
		m.mu.Lock()
		m.makingTmp = false
		keep := err == nil && !m.closed && m.spareTmp == ""
		if keep {
			m.spareTmp = dir
		}
		m.mu.Unlock()
		if err == nil && !keep {
			_ = os.Remove(dir)
		}
	}()
}
