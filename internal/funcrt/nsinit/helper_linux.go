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
	case args[0] == "pool" && len(args) == 1:
		return pooled()
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
	return execBootstrap(func(msg string) { _, _ = status.WriteString(msg) }, argv, os.Environ())
}

// execBootstrap executes the bootstrap; if it cannot, it reports why
// through report and returns the exit code.
func execBootstrap(report func(string), argv, env []string) int {
	// Exec from one thread whose credentials are known: in a user
	// namespace the helper holds CAP_SYS_ADMIN as an ambient capability
	// (to mount /proc), which must not reach the bootstrap.
	runtime.LockOSThread()
	if os.Getuid() != 0 {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0, 0, 0, 0); e != 0 {
			report(StatusSetup + "clearing ambient capabilities: " + e.Error())
			return 1
		}
	}
	report(StatusExec + strconv.Itoa(int(errnoOf(syscall.Exec(argv[0], argv, env)))))
	return 127
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		errno = syscall.EINVAL
	}
	return errno
}

// pooled is the helper's "pool" mode (see the package documentation).
// It uses system calls directly on ControlFD, a blocking socket.
func pooled() int {
	syscall.CloseOnExec(ControlFD)
	report := func(msg string) { _ = writeAll(ControlFD, msg) }
	if err := mountProc(); err != nil {
		report(StatusSetup + err.Error())
		return 1
	}
	if writeAll(ControlFD, StatusReady) != nil {
		return 1
	}
	spec, fds, err := receiveSpec(ControlFD)
	if err != nil {
		return 1 // funcrt gave up (closed the pool), died, or sent garbage
	}
	for i, fd := range fds { // 1 and 2, not close-on-exec: the bootstrap's output
		if err := syscall.Dup3(fd, 1+i, 0); err != nil {
			report(StatusSetup + "standard output: " + err.Error())
			return 1
		}
		_ = syscall.Close(fd)
	}
	if err := syscall.Sethostname([]byte(spec.Hostname)); err != nil {
		report(StatusSetup + wrap("setting the host name", err).Error())
		return 1
	}
	if err := syscall.Chdir(spec.Dir); err != nil {
		// What os/exec reports for a Cmd.Dir it cannot enter.
		report(StatusExec + strconv.Itoa(int(errnoOf(err))))
		return 127
	}
	return execBootstrap(report, spec.Argv, spec.Env)
}

// receiveSpec reads one Spec and its two descriptors (standard output and
// error) from fd. The descriptors arrive close-on-exec.
func receiveSpec(fd int) (Spec, []int, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(2*4))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = syscall.Recvmsg(fd, buf, oob, syscall.MSG_CMSG_CLOEXEC)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return Spec{}, nil, err
	}
	var fds []int
	if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if r, err := syscall.ParseUnixRights(&m); err == nil {
				fds = append(fds, r...)
			}
		}
	}
	if len(fds) != 2 {
		return Spec{}, nil, errors.New("expected two descriptors")
	}
	if n < 4 {
		return Spec{}, nil, errors.New("short spec")
	}
	size, err := SpecLen(buf[:4])
	if err != nil {
		return Spec{}, nil, err
	}
	if 4+size > len(buf) {
		buf = append(buf[:n], make([]byte, 4+size-n)...)
	}
	for n < 4+size {
		m, err := syscall.Read(fd, buf[n:4+size])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return Spec{}, nil, err
		case m == 0:
			return Spec{}, nil, errors.New("end of file in the spec")
		}
		n += m
	}
	if n != 4+size {
		return Spec{}, nil, errors.New("data after the spec")
	}
	spec, err := ParseSpec(buf[4:n])
	return spec, fds, err
}

// writeAll writes s to fd.
func writeAll(fd int, s string) error {
	b := []byte(s)
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// setup runs in the helper, PID 1 of the new namespaces: it stops mount
// events from propagating to the host (mounts become slaves of the
// host's), mounts a /proc that shows the namespace's processes only, and
// sets the host name.
func setup(hostname string) error {
	if err := mountProc(); err != nil {
		return err
	}
	if err := syscall.Sethostname([]byte(hostname)); err != nil {
		return wrap("setting the host name", err)
	}
	return nil
}

// mountProc makes every mount a slave of the host's and mounts the
// namespace's own /proc.
func mountProc() error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_SLAVE, ""); err != nil {
		return wrap("making mounts slaves of the host's", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return wrap("mounting /proc", err)
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
