// Package shims holds Fogbank's own runtime interface clients for Lambda's
// interpreted managed runtimes, python3.x and nodejs*.x: small programs, in
// each language's standard library only, that speak the Lambda Runtime API
// at $AWS_LAMBDA_RUNTIME_API, load the function's handler from _HANDLER and
// call it the way Lambda's runtimes do (context object, error documents,
// init errors, log format).
//
// The programs are embedded in the binary. Argv writes one to a directory
// (once per content, under a name derived from its hash) and returns the
// command that runs it with the host's interpreter, for funcrt's
// Config.Bootstrap. Fogbank ships no interpreters: a function whose
// interpreter is not on the host's PATH cannot start, and Argv says which
// one is missing.
package shims

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the shims are embedded files
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed bootstrap.py
var pythonShim string

//go:embed bootstrap.mjs
var nodeShim string

// Language is the interpreter family of a managed runtime.
type Language string

// Languages with a shim.
const (
	// Python covers the python3.x runtimes.
	Python Language = "python"
	// Node covers the nodejs*.x runtimes.
	Node Language = "nodejs"
)

// ErrUnsupportedRuntime is returned by Argv for a runtime without a shim
// (provided.*, java*, ...).
var ErrUnsupportedRuntime = errors.New("shims: no runtime shim for this runtime")

// ErrInterpreterNotFound matches (errors.Is) every *InterpreterError.
var ErrInterpreterNotFound = errors.New("shims: interpreter not found")

// InterpreterError reports that no usable interpreter for a runtime is on
// the host's PATH.
type InterpreterError struct {
	// Runtime is the Lambda runtime identifier, e.g. "python3.12".
	Runtime string
	// Tried are the command names looked for, in order.
	Tried []string
}

func (e *InterpreterError) Error() string {
	if len(e.Tried) == 0 {
		return fmt.Sprintf("no interpreter for %s on the host's PATH", e.Runtime)
	}
	return fmt.Sprintf("no %s interpreter on the host's PATH (Fogbank runs %s functions with the host's interpreter; install %s)",
		strings.Join(e.Tried, " or "), e.Runtime, e.Tried[0])
}

// Is makes errors.Is(err, ErrInterpreterNotFound) true.
func (e *InterpreterError) Is(target error) bool { return target == ErrInterpreterNotFound }

// LanguageOf returns the language of a Lambda runtime identifier, or "" when
// Fogbank has no shim for it.
func LanguageOf(runtime string) Language {
	switch {
	case strings.HasPrefix(runtime, "python3."):
		return Python
	case strings.HasPrefix(runtime, "nodejs") && strings.HasSuffix(runtime, ".x"):
		return Node
	}
	return ""
}

// source returns the embedded shim program of a language and its file name.
func source(lang Language) (name, src string, ok bool) {
	switch lang {
	case Python:
		return "bootstrap.py", pythonShim, true
	case Node:
		return "bootstrap.mjs", nodeShim, true
	}
	return "", "", false
}

// candidates are the interpreter commands tried for a runtime, best first:
// the exact python3.X, then python3; node for every nodejs runtime.
func candidates(runtime string, lang Language) []string {
	if lang == Python {
		return []string{runtime, "python3"}
	}
	return []string{"node"}
}

// Argv writes the runtime's shim under dir (dir/<hash>/<file>, written once
// and shared by every function using it) and returns the command that
// starts it: the absolute path of the host's interpreter, its flags and
// the shim's path. The interpreter is looked up on the PATH of the calling
// process (python3.X exactly, else python3; node). Version-manager shims
// (pyenv, asdf) are resolved to the real interpreter, since a function's
// environment does not carry their variables. It returns an error matching
// ErrUnsupportedRuntime for a runtime without a shim and an
// *InterpreterError when no interpreter is found.
func Argv(runtime, dir string) ([]string, error) {
	lang := LanguageOf(runtime)
	name, src, ok := source(lang)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedRuntime, runtime)
	}
	interp, err := findInterpreter(runtime, lang)
	if err != nil {
		return nil, err
	}
	script, err := writeShim(dir, name, src)
	if err != nil {
		return nil, err
	}
	if lang == Python {
		// -u: unbuffered output, so print() lines reach the log before the
		// response; -X utf8: UTF-8 I/O whatever the host's locale, as on Lambda.
		return []string{interp, "-u", "-X", "utf8", script}, nil
	}
	return []string{interp, script}, nil
}

// writeShim writes src to dir/<hash>/name unless it is already there and
// returns the file's path.
func writeShim(dir, name, src string) (string, error) {
	sum := sha256.Sum256([]byte(src))
	sub := filepath.Join(dir, hex.EncodeToString(sum[:8]))
	p := filepath.Join(sub, name)
	if b, err := os.ReadFile(p); err == nil && string(b) == src {
		return p, nil
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return "", fmt.Errorf("shims: %w", err)
	}
	f, err := os.CreateTemp(sub, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("shims: %w", err)
	}
	_, werr := f.WriteString(src)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o644)); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("shims: write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("shims: write %s: %w", name, err)
	}
	return p, nil
}

// findInterpreter returns the absolute path of the first usable candidate.
func findInterpreter(runtime string, lang Language) (string, error) {
	tried := candidates(runtime, lang)
	for _, c := range tried {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if p, err = filepath.Abs(p); err != nil {
			continue
		}
		if exe, ok := resolve(p, lang); ok {
			return exe, nil
		}
	}
	return "", &InterpreterError{Runtime: runtime, Tried: tried}
}

// probeTimeout bounds the run of a version-manager shim that reveals the real interpreter.
const probeTimeout = 15 * time.Second

// resolve returns the interpreter to run for p. A native executable is used
// as is; a script (a version manager's shim such as pyenv's) is run once to
// ask the interpreter behind it for its own path. ok is false when that
// fails (e.g. a pyenv shim for a version that is not selected).
func resolve(p string, lang Language) (string, bool) {
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	head := make([]byte, 2)
	n, _ := f.Read(head)
	_ = f.Close()
	if n < 2 || !bytes.Equal(head, []byte("#!")) {
		return p, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if lang == Python {
		cmd = exec.CommandContext(ctx, p, "-c", "import sys; sys.stdout.write(sys.executable)")
	} else {
		cmd = exec.CommandContext(ctx, p, "-e", "process.stdout.write(process.execPath)")
	}
	out, err := cmd.Output()
	exe := strings.TrimSpace(string(out))
	if err != nil || exe == "" || !filepath.IsAbs(exe) {
		return "", false
	}
	return exe, true
}
