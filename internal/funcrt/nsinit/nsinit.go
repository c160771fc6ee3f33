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
// "probe <hostname>" (set up, then exit; the set-up error goes to stderr),
// "run <hostname> -- <bootstrap argv...>" or "pool".
//
// In "run" mode the helper reads ControlFD: one byte means go on, end of
// file means give up; and it writes to StatusFD (close-on-exec): nothing
// when the bootstrap was executed (the pipe closes with the exec),
// StatusSetup followed by a message when the set-up failed, StatusExec
// followed by the decimal errno when the bootstrap could not be executed.
//
// In "pool" mode the helper is started before any environment needs it,
// with an empty environment, and ControlFD is one end of a Unix stream
// socket used both ways. The helper mounts /proc, writes StatusReady (or
// StatusSetup and a message, then exits), and waits for one Spec (see
// AppendSpec) carrying the bootstrap's standard output and error as two
// SCM_RIGHTS descriptors; end of file instead means give up (funcrt
// closed the pool, or died). It then sets the Spec's host name and
// working directory and executes the bootstrap with the Spec's
// environment, writing what follows the ready byte as in "run" mode:
// nothing on success, StatusSetup (host name) or StatusExec (working
// directory or exec; the errno is the system call's) on failure.
package nsinit

import (
	"errors"
	"strconv"
)

// Arg0 is the argv[0] that turns the binary into the sandbox helper.
const Arg0 = "fogbank-funcrt-sandbox"

// File descriptors of the helper's pipes (os/exec ExtraFiles 0 and 1).
const (
	// ControlFD is read by the helper: one byte to go on ("run"), or the
	// socket of a pooled helper ("pool").
	ControlFD = 3
	// StatusFD is written by the helper when something failed ("run").
	StatusFD = 4
)

// Prefixes of what the helper writes to StatusFD (or, pooled, ControlFD).
const (
	// StatusSetup precedes the message of a failed namespace set-up.
	StatusSetup = "setup:"
	// StatusExec precedes the errno of a failed exec of the bootstrap.
	StatusExec = "exec:"
	// StatusReady is the one byte a pooled helper writes once its set-up
	// is done.
	StatusReady = "R"
)

// MaxSpecSize bounds an encoded Spec (after its length prefix); the
// kernel refuses larger argument and environment lists anyway.
const MaxSpecSize = 4 << 20

// Spec is what a pooled helper executes.
type Spec struct {
	// Hostname is set in the environment's UTS namespace.
	Hostname string
	// Dir is the working directory of the bootstrap.
	Dir string
	// Argv is the bootstrap's argument list; Argv[0] is the path executed.
	Argv []string
	// Env is the bootstrap's whole environment ("KEY=value").
	Env []string
}

// AppendSpec appends s to b in the wire form: a 4-byte big-endian length
// of the rest, then Hostname, Dir, the count of Argv and each argument,
// the count of Env and each variable, where every string is a 4-byte
// big-endian length and its bytes, and every count 4 bytes big-endian.
func AppendSpec(b []byte, s Spec) ([]byte, error) {
	if len(s.Argv) == 0 {
		return b, errors.New("nsinit: spec: empty argv")
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = appendString(b, s.Hostname)
	b = appendString(b, s.Dir)
	for _, list := range [][]string{s.Argv, s.Env} {
		b = appendUint32(b, len(list))
		for _, v := range list {
			b = appendString(b, v)
		}
	}
	n := len(b) - start - 4
	if n > MaxSpecSize {
		return b[:start], errors.New("nsinit: spec: " + strconv.Itoa(n) + " bytes, more than the limit")
	}
	putUint32(b[start:], n)
	return b, nil
}

// SpecLen returns the length of the Spec that a 4-byte prefix announces.
func SpecLen(prefix []byte) (int, error) {
	if len(prefix) < 4 {
		return 0, errors.New("nsinit: spec: short length prefix")
	}
	n := getUint32(prefix)
	if n > MaxSpecSize {
		return 0, errors.New("nsinit: spec: " + strconv.Itoa(n) + " bytes, more than the limit")
	}
	return n, nil
}

// ParseSpec decodes what follows a Spec's length prefix.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	var ok bool
	if s.Hostname, b, ok = takeString(b); !ok {
		return s, errBadSpec
	}
	if s.Dir, b, ok = takeString(b); !ok {
		return s, errBadSpec
	}
	for _, list := range []*[]string{&s.Argv, &s.Env} {
		if len(b) < 4 {
			return s, errBadSpec
		}
		n := getUint32(b)
		b = b[4:]
		if n > len(b)/4 { // each string needs at least its length
			return s, errBadSpec
		}
		*list = make([]string, n)
		for i := range n {
			if (*list)[i], b, ok = takeString(b); !ok {
				return s, errBadSpec
			}
		}
	}
	if len(b) != 0 || len(s.Argv) == 0 {
		return s, errBadSpec
	}
	return s, nil
}

var errBadSpec = errors.New("nsinit: spec: malformed")

func appendUint32(b []byte, n int) []byte {
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func putUint32(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func getUint32(b []byte) int {
	return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
}

func appendString(b []byte, s string) []byte {
	return append(appendUint32(b, len(s)), s...)
}

func takeString(b []byte) (string, []byte, bool) {
	if len(b) < 4 {
		return "", b, false
	}
	n := getUint32(b)
	if n > len(b)-4 {
		return "", b, false
	}
	return string(b[4 : 4+n]), b[4+n:], true
}
