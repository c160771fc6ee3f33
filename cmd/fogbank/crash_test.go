package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/testenv"
)

// buildBinary builds fogbank once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fogbank")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild runs `fogbank serve` and waits for health.
func startChild(t *testing.T, bin, addr, dir string, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"serve", "--listen", addr, "--data-dir", dir, "--log-level", "warn", "--storage", testenv.StorageFromEnv()}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/_fogbank/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "fogbank did not become healthy")
	return cmd
}

// TestSIGKILLKeepsAcknowledgedWrites streams writes at a child server,
// kills it with SIGKILL mid-stream, restarts it on the same data dir and
// checks that every write it acknowledged is there.
func TestSIGKILLKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if testenv.StorageFromEnv() != "embedded" {
		t.Skip("the crash test targets the embedded store (distributed engines own their own durability)")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freePort(t)
	cmd := startChild(t, bin, addr, dir)

	var mu sync.Mutex
	var acked []string
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("9%02d%09d", w, i)
				body, _ := json.Marshal(map[string]string{"id": id})
				resp, err := client.Post("http://"+addr+"/_fogbank/accounts", "application/json", bytes.NewReader(body))
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	testenv.Eventually(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 200
	}, "too few acknowledged writes")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	cancel()
	wg.Wait()

	cmd = startChild(t, bin, addr, dir)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	resp, err := http.Get("http://" + addr + "/_fogbank/accounts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var accounts []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&accounts); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, a := range accounts {
		have[a.ID] = true
	}
	missing := 0
	for _, id := range acked {
		if !have[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after SIGKILL", missing, len(acked))
	}
	t.Logf("all %d acknowledged writes survived SIGKILL", len(acked))
}

// TestSIGTERMExitsCleanly checks graceful shutdown: exit status 0.
func TestSIGTERMExitsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	addr := freePort(t)
	cmd := startChild(t, bin, addr, t.TempDir())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 20s of SIGTERM")
	}
}

// BenchmarkStartup measures process start to first served health request
// on embedded storage, against the bare fork/exec+wait of the same binary
// running `fogbank version` as the baseline measured in the same run.
func BenchmarkStartup(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "fogbank")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	b.Run("version-exec-baseline", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command(bin, "version").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serve-to-first-request", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dir, "--log-level", "error")
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			for {
				resp, err := http.Get("http://" + addr + "/_fogbank/health")
				if err == nil {
					resp.Body.Close()
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			b.StartTimer()
		}
	})
}
