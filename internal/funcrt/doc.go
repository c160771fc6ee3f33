// Package funcrt is the function runtime engine under the Lambda service: it
// runs a function version's code as child processes ("execution
// environments"), serves each one its own Lambda Runtime API (2018-06-01) on
// 127.0.0.1:<ephemeral port>, and turns invocations into results the way
// Lambda reports them (payloads, function errors, timeouts, crashes, logs
// with START/END/REPORT lines, durations and memory).
//
// It owns: spawning and killing environments, cold start (init) versus warm
// reuse, one invocation at a time per environment, idle reaping, the
// per-manager concurrency limit (a typed throttle error), provisioned
// pre-warming, the environment variables real runtimes read, log capture,
// namespace isolation, Max Memory Used, cgroup memory limits, and a safe
// zip extractor.
// It knows nothing about the Lambda HTTP API, storage or accounts.
//
// # Isolation
//
// Every environment is one process group (Setpgid; the whole group is
// SIGKILLed on timeout, crash clean-up and reaping), dies with Fogbank
// (Pdeathsig SIGKILL), has stdin on /dev/null, runs with the code directory
// as working directory and gets a private temporary directory (TMPDIR,
// removed with the environment). Only SIGKILL is ever sent, so a bootstrap
// that is PID 1 of its namespace (which ignores signals it has no handler
// for) is still stopped.
//
// With IsolationNamespaces (the default) the bootstrap also gets, where the
// host allows it:
//
//   - new PID, IPC, UTS and mount namespaces (and, when Fogbank is not root,
//     a user namespace mapping only Fogbank's uid and gid, so the function
//     runs as that uid without capabilities). The bootstrap is PID 1 of its
//     namespace: it sees and can signal only its own descendants, orphans
//     are re-parented to it (a bootstrap that does not reap them keeps them
//     as zombies until the environment ends), and killing it (timeout,
//     reaping, Close, Fogbank's death) makes the kernel kill and reap every
//     process of the namespace, including ones that left the process group
//     with setsid. On the host it is cmd.Process.Pid, so memory sampling
//     through /proc/<pid> and waitid work unchanged.
//   - its own /proc (only the namespace's processes) and the host name
//     "localhost". Both need code inside the namespace before the bootstrap
//     starts, which Go cannot run between clone and exec: the environment's
//     first process is Fogbank's own binary (/proc/self/exe) re-executed as
//     the sandbox helper of package nsinit, which mounts /proc (after making
//     every mount a slave of the host's, so nothing propagates back), sets
//     the host name, waits for funcrt's go-ahead and executes the bootstrap
//     in place. This costs one start of the Go runtime (a few
//     milliseconds) per cold start, unless Options.SandboxPool supplies a
//     helper started ahead of need (already in its namespaces, /proc
//     mounted), which is handed the bootstrap, its arguments, environment,
//     working directory, host name and log pipe over a Unix socket; the
//     pool starts a replacement 50 ms after the environment's first
//     invocation has ended (sooner, a helper's start would delay that
//     invocation's answer on a small host). Pooled helpers start with an empty environment, exit when
//     the pool is closed or Fogbank dies, and are not used when
//     environments are born in a cgroup v2 (a pooled helper could only be
//     moved in after birth). Where environments get a cgroup v1 (see
//     Memory), each pooled helper enters a memory cgroup of its own as it
//     starts, which the environment taking it adopts.
//
// The network namespace is shared: functions reach their Runtime API and
// Fogbank on loopback. The file system is the host's as Fogbank's user
// sees it (the code directory is not mounted at /var/task), and there is
// no seccomp filter. Run as root, Fogbank gives functions root with all
// capabilities, which namespaces do not contain: run it as a dedicated
// unprivileged user (unprivileged user namespaces enabled).
//
// Each Manager finds out what the host allows with its first environment
// (or Manager.Sandbox, which starts one short-lived helper when no
// environment has run yet): if the helper's set-up is refused (e.g. /proc
// cannot be mounted in a container whose /proc has masked paths) it falls
// back to PID, IPC and UTS namespaces without the helper (the host's /proc
// and a copy of its host name); if creating the namespaces fails with
// EPERM, EINVAL, ENOSPC, EUSERS or ENOSYS, to a plain process group. Each
// fallback is logged once at Info, and Manager.Sandbox reports the level
// in effect and why. IsolationProcess asks for the plain process group.
//
// # Memory
//
// Max Memory Used is the environment's peak memory so far, written in each
// REPORT line. Where a cgroup limits the environment it is the cgroup's
// peak (memory.peak, cgroup v2 from kernel 5.19, or memory.max_usage_in_bytes,
// cgroup v1), which counts the page cache the function brings in, or the
// live process tree's peak resident set if that is larger. Otherwise it is
// the peak resident set (VmHWM from /proc/<pid>/status) summed over
// the environment's process tree when each invocation ends, and the
// ru_maxrss of the root process once it has exited; children that start
// and exit between two samples are missed. A sample reads the cheaper
// /proc/<pid>/statm and re-reads VmHWM only when the resident set has grown
// past it or every second, so a peak that rises and falls back between two
// invocations may show up to a second late. With Request.DeferReport the
// sample and the END/REPORT lines are written after Invoke has returned.
//
// The memory size is enforced by, in order of preference:
//
//   - cgroup v2, when Options.CgroupParent names a delegated cgroup v2
//     directory and /sys/fs/cgroup is cgroup2 (statfs magic): every
//     environment is born (CLONE_INTO_CGROUP) in its own child cgroup with
//     memory.max = MemorySize, memory.swap.max = 0 and pids.max = 1024;
//   - cgroup v1, when Fogbank's own cgroup in a cgroup v1 memory hierarchy
//     (/proc/self/cgroup, /proc/self/mountinfo) accepts child cgroups (it
//     does for root on cgroup v1/hybrid hosts, the development machine
//     included) and Options.DisableCgroupV1 is not set (found out once per
//     SandboxPool, or per Manager without one): every environment gets a
//     child with memory.limit_in_bytes = MemorySize (and
//     memory.memsw.limit_in_bytes where swap accounting exists). Moving a
//     process into a cgroup v1 waits for an RCU grace period
//     (milliseconds), so a cold start from a pooled sandbox helper moves
//     nothing: the helper entered a cgroup of its own (no limit) when the
//     pool started it, and the environment adopts that cgroup, setting the
//     limit before the bootstrap is executed and restarting
//     memory.max_usage_in_bytes once it has been, so the helper's own
//     usage does not count as the function's. Otherwise the environment's
//     first process is moved in by writing its pid to cgroup.procs right
//     after it starts, then whatever it forked meanwhile; the move runs
//     alongside the runtime's init, the first invocation waits for it, and
//     what the runtime touched before it stays charged to Fogbank's cgroup
//     (the live process tree's own peak is then the floor of Max Memory
//     Used). No pids limit on v1. On removal, the processes still listed
//     in cgroup.procs are SIGKILLed, which also catches setsid'ed orphans
//     when there is no PID namespace. A helper's cgroup that no
//     environment adopted (Options.DisableCgroupV1 with a pool shared with
//     Managers that limit memory) is removed with the helper or the
//     environment that took it; cgroups are left behind only when Fogbank
//     is killed;
//   - polling, best effort, otherwise: while an invocation runs the tree's
//     resident set is polled and the group is killed when it exceeds
//     MemorySize (Options.DisableMemoryPolling turns it off).
//
// With a cgroup the kernel's OOM killer stops an environment that exceeds
// its memory; an exit of the runtime with the cgroup's oom_kill count
// (memory.events, or memory.oom_control on v1) above zero, and a polling
// kill, are reported as Lambda reports them: error type
// Runtime.OutOfMemory with "Runtime exited with error: signal: killed".
// RLIMIT_AS is deliberately not used: it limits address space, not memory,
// and Go and JVM runtimes reserve far more address space than they use.
//
// # Time
//
// Idle reaping and log timestamps use the injected clock.Clock, so tests and
// accelerated servers can move them. Invocation deadlines, the init timeout
// and the kill timers use real timers (time.Timer): the function runs in real
// time, so its timeout must be enforced in real time even when the server
// clock is accelerated or stopped; the Lambda-Runtime-Deadline-Ms header is
// real epoch milliseconds for the same reason.
//
// # Differences from AWS
//
//   - Paths: the code directory plays /var/task and the merged layer
//     directory plays /opt; both are host paths given in LAMBDA_TASK_ROOT and
//     FOGBANK_OPT_DIR (PATH and LD_LIBRARY_PATH include its bin and lib);
//     /opt and /var/task are not mounted, even in a mount namespace. Error
//     messages that name paths use AWS's logical names
//     (/var/task/bootstrap, /opt/bootstrap).
//   - The bootstrap is PID 1 of its PID namespace and the host name is
//     "localhost"; on Lambda, Lambda's own init is PID 1 and the host
//     name differs.
//   - Layer extensions (/opt/extensions) and the Extensions, Telemetry and
//     Logs APIs are not served.
//   - An init that fails or exceeds the init timeout fails the invocation
//     that caused it; Lambda would retry the init once inside the invoke
//     ("suppressed init").
//   - Billed Duration includes Init Duration on a cold start (Lambda's rule
//     for OS-only runtimes, and for all runtimes since August 2025).
//   - The INIT_START line's runtime version and ARN are synthetic.
//   - X-Amz-Function-Error is always "Unhandled", which is what Lambda
//     reports today; "Handled" is legacy.
//   - An environment found dead when an invocation is about to be handed to
//     it is replaced and the invocation runs elsewhere; one dying at that
//     very moment is reported as Runtime.ExitError, as a crash would be.
//   - Cancelling Invoke's context discards the environment running the
//     invocation (Lambda would let the function finish).
package funcrt
