// Command handler is a real aws-lambda-go function used by the funcrt
// tests; the event's "action" selects what it does, and TEST_INIT selects a
// failing init.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action  string   `json:"action"`
	Message string   `json:"message"`
	Code    int      `json:"code"`
	Ms      int      `json:"ms"`
	Size    int      `json:"size"`
	Lines   []string `json:"lines"`
	AllocMB int      `json:"alloc_mb"`
}

var count int

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	count++
	var ev event
	_ = json.Unmarshal(raw, &ev)
	switch ev.Action {
	case "", "echo":
		return raw, nil
	case "error":
		return nil, errors.New(ev.Message)
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(ev.Code)
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return map[string]int{"slept": ev.Ms}, nil
	case "count":
		return map[string]int{"count": count, "pid": os.Getpid()}, nil
	case "log":
		for _, l := range ev.Lines {
			fmt.Println(l)
			fmt.Fprintln(os.Stderr, "stderr: "+l)
		}
		fmt.Print("no newline at end")
		return "logged", nil
	case "big":
		return strings.Repeat("a", ev.Size), nil
	case "alloc":
		b := make([]byte, ev.AllocMB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return len(b), nil
	case "whoami":
		// What the process sees of its sandbox.
		host, _ := os.Hostname()
		procs := 0
		if ents, err := os.ReadDir("/proc"); err == nil {
			for _, e := range ents {
				if _, err := strconv.Atoi(e.Name()); err == nil {
					procs++
				}
			}
		}
		capEff := ""
		if b, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
					capEff = strings.TrimSpace(v)
				}
			}
		}
		return map[string]any{"pid": os.Getpid(), "hostname": host, "procs": procs, "uid": os.Getuid(), "capeff": capEff}, nil
	case "fork":
		// Leave an orphan behind: a child starts a grandchild named
		// ev.Message (in its own session, so outside the process group)
		// and exits. Then sleep ev.Ms.
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "TEST_INIT=spawn", "TEST_NAME="+ev.Message)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("spawning: %v: %s", err, out)
		}
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return "forked", nil
	case "env":
		lc, _ := lambdacontext.FromContext(ctx)
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		dl, _ := ctx.Deadline()
		wd, _ := os.Getwd()
		return map[string]any{
			"env":            env,
			"request_id":     lc.AwsRequestID,
			"arn":            lc.InvokedFunctionArn,
			"client_context": lc.ClientContext.Custom,
			"cognito_id":     lc.Identity.CognitoIdentityID,
			"deadline_ms":    dl.UnixMilli(),
			"function_name":  lambdacontext.FunctionName,
			"memory_mb":      lambdacontext.MemoryLimitInMB,
			"cwd":            wd,
			"tmpdir":         os.TempDir(),
		}, nil
	}
	return nil, fmt.Errorf("unknown action %q", ev.Action)
}

func main() {
	switch os.Getenv("TEST_INIT") {
	case "fail":
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"errorMessage":"init boom","errorType":"InitBoom"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.InitBoom")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	case "exit":
		os.Exit(3)
	case "hang":
		if name := os.Getenv("TEST_NAME"); name != "" {
			_ = os.WriteFile("/proc/self/comm", []byte(name), 0)
		}
		time.Sleep(time.Hour)
	case "spawn":
		exe, _ := os.Executable()
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "TEST_INIT=hang")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Println("init: hello from init")
	lambda.Start(handle)
}
