package lambda

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/fogbank/fogbank/internal/funcrt/shims"
)

// bootstrap returns funcrt's Config.Bootstrap for a function runtime: the
// command that starts Fogbank's runtime shim with the host's interpreter
// for python3.x and nodejs*.x, nil for the OS-only runtimes (provided.*),
// whose bootstrap file funcrt finds in the code or a layer.
//
// When the interpreter is not on the host, the function must still fail
// only when it runs, as an init failure: the command returned is then a
// program name that does not exist and says what is missing, so that the
// start fails with Runtime.InvalidEntrypoint and an errorMessage like
// "fork/exec python3.12 (no python3.12 or python3 interpreter on the
// Fogbank host's PATH): no such file or directory".
func (rt *runtimes) bootstrap(runtime string) []string {
	if shims.LanguageOf(runtime) == "" {
		return nil
	}
	argv, err := shims.Argv(runtime, filepath.Join(rt.s.deps.WorkDir, "runtime"))
	if err == nil {
		return argv
	}
	rt.s.log.Warn("lambda: cannot start runtime", "runtime", runtime, "err", err)
	what := runtime + " runtime shim could not be written"
	var ie *shims.InterpreterError
	if errors.As(err, &ie) {
		what = "no " + strings.Join(ie.Tried, " or ") + " interpreter on the Fogbank host's PATH"
	}
	// A name without '/' is looked up in the code directory only, where
	// nothing of that name is expected (and could run no more than the
	// function's own code can).
	return []string{runtime + " (" + what + ")"}
}
