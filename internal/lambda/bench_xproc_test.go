package lambda_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/testenv"
)

// echoServerEnv makes the test binary, started by startXLoopback, serve
// the loopback baseline from a separate process instead of running tests.
const echoServerEnv = "FOGBANK_BENCH_ECHO_SERVER"

// echoServerMain is the child process of startXLoopback: a net/http echo
// server on a random loopback port, whose address it prints on stdout; it
// exits when its standard input closes (the parent went away).
func echoServerMain() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr().String())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// startXLoopback is the loopback baseline as the research notes define it
// (../shared/research/perf-anchors.md, goal G1): client and server in
// separate processes, as an SDK client and Fogbank are.
func startXLoopback(b *testing.B) *loopback {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("echo server: %v", err)
	}
	return &loopback{url: "http://" + strings.TrimSpace(addr), c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

// startXServer builds cmd/fogbank and runs `fogbank serve` as a separate
// process on embedded storage, the way a user runs it; it returns an Env
// whose URL and Config point at it (Server is nil).
func startXServer(b *testing.B) *testenv.Env {
	root, err := testenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "fogbank")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fogbank")
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build fogbank: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	testenv.Eventually(b, 30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/_fogbank/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "fogbank serve did not become healthy")
	env := &testenv.Env{URL: "http://" + addr, Account: identity.DefaultAccount}
	env.Config = env.ConfigFor(identity.DefaultAccessKey, identity.DefaultSecret, "")
	return env
}

// startXInvoker starts the separate server, creates the bench function on
// it and returns a warm replayed-request invoker for it.
func startXInvoker(b *testing.B) *rawInvoker {
	env := startXServer(b)
	createBenchFn(b, lambda.NewFromConfig(env.Config), "bench")
	ri := newRawInvoker(b, env, "bench")
	ri.invoke(b)
	return ri
}
