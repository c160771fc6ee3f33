package funcrt

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReportLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Report
		want string
	}{
		{"warm", Report{RequestID: "id", Duration: 2900 * time.Microsecond, BilledDurationMs: 3, MemorySizeMB: 128, MaxMemoryUsedMB: 36, Status: StatusSuccess},
			"REPORT RequestId: id\tDuration: 2.90 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\t\n"},
		{"cold", Report{RequestID: "id", Duration: 3010 * time.Microsecond, BilledDurationMs: 4, MemorySizeMB: 128, MaxMemoryUsedMB: 36, InitDuration: 110100 * time.Microsecond, Status: StatusSuccess},
			"REPORT RequestId: id\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms\t\n"},
		{"timeout", Report{RequestID: "id", Duration: time.Second, BilledDurationMs: 1000, MemorySizeMB: 128, MaxMemoryUsedMB: 20, Status: StatusTimeout},
			"REPORT RequestId: id\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout\t\n"},
		{"crash", Report{RequestID: "id", Duration: time.Millisecond, BilledDurationMs: 1, MemorySizeMB: 128, MaxMemoryUsedMB: 20, Status: StatusError, ErrorType: "Runtime.ExitError"},
			"REPORT RequestId: id\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: error\tError Type: Runtime.ExitError\t\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Line(); got != tc.want {
				t.Errorf("Line() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	if got := timeoutLine(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), "id", 3*time.Second); got != "2026-01-02T03:04:05.006Z id Task timed out after 3.00 seconds\n" {
		t.Errorf("timeoutLine = %q", got)
	}
	if got := initReportLine(440*time.Microsecond, StatusError, "Runtime.InvalidEntrypoint"); got != "INIT_REPORT Init Duration: 0.44 ms\tPhase: init\tStatus: error\tError Type: Runtime.InvalidEntrypoint\t\n" {
		t.Errorf("initReportLine = %q", got)
	}
}

func TestBilledMs(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 1, time.Microsecond: 1, time.Millisecond: 1, 1001 * time.Microsecond: 2, 1500 * time.Millisecond: 1500} {
		if got := billedMs(d); got != want {
			t.Errorf("billedMs(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestRuntimeVersion(t *testing.T) {
	for rt, want := range map[string]string{"provided.al2023": "provided:al2023.v1", "provided.al2": "provided:al2.v1", "python3.12": "python:3.12.v1", "nodejs20.x": "nodejs:20.x.v1", "": "provided:al2023.v1"} {
		c := Config{Runtime: rt}
		if got := c.runtimeVersion(); got != want {
			t.Errorf("runtimeVersion(%q) = %q, want %q", rt, got, want)
		}
	}
}

func TestBuildEnv(t *testing.T) {
	cfg := &Config{FunctionName: "f", Version: "3", MemoryMB: 512, Handler: "app.handler", Runtime: "python3.12", CodeDir: "/code",
		Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "evil", "PATH": "/mine", "B": "2", "A": "1", "BAD=KEY": "x", "": "y"}}
	env := buildEnv(cfg, envInputs{runtimeAPI: "127.0.0.1:1", logStream: "s", optDir: "/o", tmpDir: "/t", provisioned: true})
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("%s set twice", k)
		}
		got[k] = v
	}
	want := map[string]string{
		"LANG": "en_US.UTF-8", "TZ": ":UTC", "PATH": "/mine", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:/code:/code/lib:/o/lib",
		"TMPDIR":          "/t", "FOGBANK_OPT_DIR": "/o", "A": "1", "B": "2",
		"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_LAMBDA_FUNCTION_VERSION": "3", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/f", "AWS_LAMBDA_LOG_STREAM_NAME": "s",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "LAMBDA_TASK_ROOT": "/code", "LAMBDA_RUNTIME_DIR": "/code",
		"_HANDLER": "app.handler", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	for _, k := range []string{"AWS_REGION", "_HANDLER", "AWS_SESSION_TOKEN", "LAMBDA_TASK_ROOT"} {
		if !IsReservedEnvKey(k) {
			t.Errorf("%s not reserved", k)
		}
	}
	for _, k := range []string{"PATH", "LANG", "TZ", "AWS_ENDPOINT_URL", "MY_VAR"} {
		if IsReservedEnvKey(k) {
			t.Errorf("%s reserved", k)
		}
	}
	if len(ReservedEnvKeys()) != len(reservedEnvKeys) {
		t.Error("ReservedEnvKeys incomplete")
	}
}

type zipEntry struct {
	name string
	body string
	mode fs.FileMode
}

func makeZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnzip(t *testing.T) {
	z := makeZip(t, []zipEntry{
		{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755},
		{name: "lib/", mode: fs.ModeDir | 0o755},
		{name: "lib/data.txt", body: "data"},
		{name: "lib/link", body: "data.txt", mode: fs.ModeSymlink | 0o777},
		{name: "./nested/./x.txt", body: "x"},
	})
	dir := filepath.Join(t.TempDir(), "code")
	if err := Unzip(bytes.NewReader(z), int64(len(z)), dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, %v", st.Mode(), err)
	}
	st, err = os.Stat(filepath.Join(dir, "lib/data.txt"))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("data.txt mode %v, %v", st.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib/link")); err != nil || string(b) != "data" {
		t.Errorf("link reads %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "nested/x.txt")); err != nil || string(b) != "x" {
		t.Errorf("nested/x.txt = %q, %v", b, err)
	}
}

func TestUnzipRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []zipEntry
	}{
		{"parent traversal", []zipEntry{{name: "../evil", body: "x"}}},
		{"deep traversal", []zipEntry{{name: "a/../../evil", body: "x"}}},
		{"absolute", []zipEntry{{name: "/etc/evil", body: "x"}}},
		{"backslash", []zipEntry{{name: "..\\evil", body: "x"}}},
		{"absolute link", []zipEntry{{name: "l", body: "/etc", mode: fs.ModeSymlink | 0o777}}},
		{"escaping link", []zipEntry{{name: "a/l", body: "../../etc", mode: fs.ModeSymlink | 0o777}}},
		{"link through link", []zipEntry{
			{name: "up", body: ".", mode: fs.ModeSymlink | 0o777},
			{name: "up2", body: "up/..", mode: fs.ModeSymlink | 0o777},
			{name: "up2/evil", body: "x", mode: fs.ModeSymlink | 0o777},
		}},
		{"too big", []zipEntry{{name: "big", body: strings.Repeat("a", 2000)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "code")
			z := makeZip(t, tc.entries)
			err := Unzip(bytes.NewReader(z), int64(len(z)), dir, 1000)
			if !errors.Is(err, ErrUnzip) {
				t.Errorf("err = %v, want ErrUnzip", err)
			}
			assertNothingOutside(t, root, dir)
		})
	}
	if err := Unzip(bytes.NewReader([]byte("not a zip")), 9, t.TempDir(), 0); !errors.Is(err, ErrUnzip) {
		t.Errorf("garbage: %v", err)
	}
}

// assertNothingOutside fails if root holds anything but dir.
func assertNothingOutside(t testing.TB, root, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if filepath.Join(root, e.Name()) != dir {
			t.Errorf("extraction wrote %s outside the target", e.Name())
		}
	}
}

func FuzzUnzip(f *testing.F) {
	f.Add(makeZip(f, []zipEntry{{name: "a/b", body: "x", mode: 0o755}, {name: "l", body: "a/b", mode: fs.ModeSymlink | 0o777}}))
	f.Add(makeZip(f, []zipEntry{{name: "../x", body: "x"}}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "code")
		_ = Unzip(bytes.NewReader(data), int64(len(data)), dir, 1<<20)
		assertNothingOutside(t, root, dir)
	})
}

func FuzzCleanEntryName(f *testing.F) {
	for _, s := range []string{"a/b", "../a", "/abs", "a/../../b", ".", "a\\b", "a/./b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := cleanEntryName(name)
		if err != nil {
			return
		}
		if strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") || strings.Contains(c, "/../") {
			t.Errorf("cleanEntryName(%q) = %q escapes", name, c)
		}
	})
}

func TestIDFormats(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceRE := regexp.MustCompile(`^Root=1-6553f100-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	now := time.Unix(0x6553f100, 0)
	seen := map[string]bool{}
	for range 50 {
		u, tr := newUUID(), newTraceID(now)
		if !uuidRE.MatchString(u) || !traceRE.MatchString(tr) {
			t.Fatalf("uuid %q, trace id %q", u, tr)
		}
		if seen[u] || seen[tr] {
			t.Fatalf("repeated id %q / %q", u, tr)
		}
		seen[u], seen[tr] = true, true
	}
}
