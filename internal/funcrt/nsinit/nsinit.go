// Package nsinit is the first code an isolated execution environment runs.
//
// Go cannot run code in a child process between clone and exec, and a
// private /proc can only be mounted by a process inside the new PID
// namespace. So internal/funcrt starts an environment as this very binary
// (/proc/self/exe), re-executed under the name Arg0 in new namespaces; the
// init function of this package (on Linux) recognises the name and, before
// the program's other packages initialise, becomes the sandbox helper: it
// mounts /proc, sets the host name, waits for funcrt's go-ahead (which
// also tells it that funcrt is still alive: Pdeathsig cannot cover the
// instant before it was set, in a PID namespace), then executes the
// bootstrap in place (same PID: 1 in the namespace, the child's PID on the
// host).
//
// The package has few dependencies so that its init runs early: the helper
// costs one start of the Go runtime, not the whole program's
// initialisation. funcrt imports it, so every binary that runs functions
// contains the helper.
//
// # Protocol
//
// Arguments after Arg0: "true" (exit 0 at once: a namespace probe),
// "probe <hostname>" (set up, then exit; the set-up error goes to stderr)
// or "run <hostname> -- <bootstrap argv...>". In "run" mode the helper
// reads ControlFD: one byte means go on, end of file means give up; and it
// writes to StatusFD (close-on-exec): nothing when the bootstrap was
// executed (the pipe closes with the exec), StatusSetup followed by a
// message when the set-up failed, StatusExec followed by the decimal errno
// when the bootstrap could not be executed.
package nsinit

// Arg0 is the argv[0] that turns the binary into the sandbox helper.
const Arg0 = "fogbank-funcrt-sandbox"

// File descriptors of the helper's pipes (os/exec ExtraFiles 0 and 1).
const (
	// ControlFD is read by the helper: one byte to go on.
	ControlFD = 3
	// StatusFD is written by the helper when something failed.
	StatusFD = 4
)

// Prefixes of what the helper writes to StatusFD.
const (
	// StatusSetup precedes the message of a failed namespace set-up.
	StatusSetup = "setup:"
	// StatusExec precedes the errno of a failed exec of the bootstrap.
	StatusExec = "exec:"
)
