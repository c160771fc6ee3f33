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
// Max Memory Used, optional cgroup v2 limits, and a safe zip extractor.
// It knows nothing about the Lambda HTTP API, storage or accounts.
//
// # Isolation
//
// Only the "process" level exists today: each environment is one process
// group (Setpgid; the whole group is SIGKILLed on timeout, crash clean-up
// and reaping), dies with Fogbank (Pdeathsig SIGKILL), has stdin on
// /dev/null, runs with the code directory as working directory and gets a
// private temporary directory (TMPDIR, removed with the environment). What
// is NOT isolated at this level: the file system (the function sees the host
// as Fogbank's user does, /tmp included for code that ignores TMPDIR), the
// network (host network; it can reach every port, including other
// environments' Runtime APIs, whose request ids it would have to guess),
// process visibility (it sees and may signal other processes of the same
// user), and there is no seccomp or capability dropping. Run Fogbank as a
// dedicated unprivileged user. Linux namespaces (design notes, section 3)
// are not implemented yet; Isolation rejects any other level.
//
// # Memory
//
// Max Memory Used is the peak resident set (VmHWM from /proc/<pid>/status)
// summed over the environment's process tree when each invocation ends, and
// the ru_maxrss of the root process once it has exited; children that start
// and exit between two samples are missed. A sample reads the cheaper
// /proc/<pid>/statm and re-reads VmHWM only when the resident set has grown
// past it or every second, so a peak that rises and falls back between two
// invocations may show up to a second late. With Request.DeferReport the
// sample and the END/REPORT lines are written after Invoke has returned. When Options.CgroupParent names a
// delegated cgroup v2 directory and /sys/fs/cgroup is cgroup2 (statfs magic),
// every environment is born (CLONE_INTO_CGROUP) in its own child cgroup with
// memory.max = MemorySize, memory.swap.max = 0 and pids.max, memory.peak
// gives Max Memory Used and an oom_kill is reported as Runtime.OutOfMemory.
// Without cgroup v2 (the development machine is cgroup v1/hybrid) the limit
// is best effort: while an invocation runs the tree's resident set is polled
// and the group is killed (Runtime.OutOfMemory) when it exceeds MemorySize.
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
//     FOGBANK_OPT_DIR (PATH and LD_LIBRARY_PATH include its bin and lib), since
//     /opt cannot be mounted without namespaces. Error messages that name
//     paths use AWS's logical names (/var/task/bootstrap, /opt/bootstrap).
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
