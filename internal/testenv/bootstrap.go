package testenv

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildBootstrap builds the Go package pkg (a path relative to the test's
// working directory, e.g. "./testdata/handler") as a static executable
// named bootstrap in dir, and returns its path and a zip holding it as a
// provided.al2023 function's code.
func BuildBootstrap(dir, pkg string) (bin string, zipped []byte, err error) {
	bin = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("testenv: build %s: %w", pkg, err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", nil, fmt.Errorf("testenv: read bootstrap: %w", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(b)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return "", nil, fmt.Errorf("testenv: zip bootstrap: %w", err)
	}
	return bin, buf.Bytes(), nil
}
