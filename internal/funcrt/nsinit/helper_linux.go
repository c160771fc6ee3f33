//go:build linux

package nsinit

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

func init() {
	if len(os.Args) > 1 && os.Args[0] == Arg0 {
		os.Exit(helper(os.Args[1:]))
	}
}

const (
	prCapAmbient         = 47 // PR_CAP_AMBIENT
	prCapAmbientClearAll = 4  // PR_CAP_AMBIENT_CLEAR_ALL
)

// helper is the sandbox helper's main (see the package documentation).
func helper(args []string) int {
	switch {
	case args[0] == "true":
		return 0
	case args[0] == "probe" && len(args) == 2:
		if err := setup(args[1]); err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			return 1
		}
		return 0
	case args[0] != "run" || len(args) < 4 || args[2] != "--":
		_, _ = os.Stderr.WriteString("funcrt sandbox helper: bad arguments\n")
		return 2
	}
	argv := args[3:]
	syscall.CloseOnExec(ControlFD)
	syscall.CloseOnExec(StatusFD)
	status := os.NewFile(StatusFD, "status")
	if err := setup(args[1]); err != nil {
		_, _ = status.WriteString(StatusSetup + err.Error())
		return 1
	}
	var b [1]byte
	if n, _ := os.NewFile(ControlFD, "control").Read(b[:]); n != 1 {
		return 1 // funcrt gave up on this environment, or died
	}
	// Exec from one thread whose credentials are known: in a user
	// namespace the helper holds CAP_SYS_ADMIN as an ambient capability
	// (to mount /proc), which must not reach the bootstrap.
	runtime.LockOSThread()
	if os.Getuid() != 0 {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0, 0, 0, 0); e != 0 {
			_, _ = status.WriteString(StatusSetup + "clearing ambient capabilities: " + e.Error())
			return 1
		}
	}
	err := syscall.Exec(argv[0], argv, os.Environ())
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.EINVAL
	}
	_, _ = status.WriteString(StatusExec + strconv.Itoa(int(errno)))
	return 127
}

// setup runs in the helper, PID 1 of the new namespaces: it stops mount
// events from propagating to the host (mounts become slaves of the
// host's), mounts a /proc that shows the namespace's processes only, and
// sets the host name.
func setup(hostname string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_SLAVE, ""); err != nil {
		return wrap("making mounts slaves of the host's", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return wrap("mounting /proc", err)
	}
	if err := syscall.Sethostname([]byte(hostname)); err != nil {
		return wrap("setting the host name", err)
	}
	return nil
}

// setupError is a failed set-up step.
type setupError struct {
	step string
	err  error
}

func (e *setupError) Error() string { return e.step + ": " + e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

func wrap(step string, err error) error { return &setupError{step: step, err: err} }
