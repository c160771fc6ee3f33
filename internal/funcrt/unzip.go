package funcrt

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrUnzip matches every error Unzip reports about the archive's content
// (as opposed to host I/O errors).
var ErrUnzip = errors.New("funcrt: unzip: invalid archive")

// UnzipFile extracts the zip file at src into dir; see Unzip.
func UnzipFile(src, dir string, maxBytes int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	return Unzip(f, st.Size(), dir, maxBytes)
}

// Unzip extracts a zip archive (a deployment package or layer) into dir,
// which is created if missing and should be empty. It rejects entries whose
// names are absolute or climb out of dir ("..") and symbolic links whose
// targets are absolute or point outside dir; symbolic links are created
// last and only where their parent resolves inside dir, and files are
// opened with O_NOFOLLOW, so extraction never writes outside dir. Files
// keep their executable bit (0755, else 0644). Extraction stops with an
// error once more than maxBytes (if > 0) would be written; Lambda's limit
// for an unzipped function with its layers is 250 MB.
func Unzip(r io.ReaderAt, size int64, dir string, maxBytes int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnzip, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	var written int64
	var links []*zip.File
	for _, f := range zr.File {
		name, err := cleanEntryName(f.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		target := filepath.Join(realDir, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			links = append(links, f)
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("funcrt: unzip: %w", err)
			}
		default:
			n, err := extractFile(f, target, maxBytes-written, maxBytes > 0)
			written += n
			if err != nil {
				return err
			}
		}
	}
	for _, f := range links {
		if err := extractLink(f, realDir); err != nil {
			return err
		}
	}
	return nil
}

// cleanEntryName validates an entry name and returns it cleaned and
// relative ("" for the root itself).
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
		return "", fmt.Errorf("%w: illegal entry name %q", ErrUnzip, name)
	}
	if path.IsAbs(name) {
		return "", fmt.Errorf("%w: absolute entry name %q", ErrUnzip, name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: entry %q is outside the archive root", ErrUnzip, name)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

func extractFile(f *zip.File, target string, budget int64, limited bool) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return 0, fmt.Errorf("funcrt: unzip: %w", err)
	}
	perm := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		perm = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrUnzip, f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return 0, fmt.Errorf("funcrt: unzip: %w", err)
	}
	var src io.Reader = rc
	if limited {
		src = io.LimitReader(rc, budget+1)
	}
	n, err := io.Copy(out, src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("%w: %s: %w", ErrUnzip, f.Name, err)
		}
		return n, fmt.Errorf("funcrt: unzip: %s: %w", f.Name, err)
	}
	if limited && n > budget {
		return n, fmt.Errorf("%w: uncompressed size exceeds the limit", ErrUnzip)
	}
	if err := os.Chmod(target, perm); err != nil {
		return n, fmt.Errorf("funcrt: unzip: %w", err)
	}
	return n, nil
}

func extractLink(f *zip.File, realDir string) error {
	name, _ := cleanEntryName(f.Name)
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnzip, f.Name, err)
	}
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	rc.Close()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnzip, f.Name, err)
	}
	linkTarget := string(b)
	if len(b) > 4096 || linkTarget == "" || strings.ContainsRune(linkTarget, 0) || path.IsAbs(linkTarget) {
		return fmt.Errorf("%w: symbolic link %q has an illegal target", ErrUnzip, f.Name)
	}
	if rel := path.Clean(path.Join(path.Dir(name), linkTarget)); rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w: symbolic link %q points outside the archive root", ErrUnzip, f.Name)
	}
	target := filepath.Join(realDir, filepath.FromSlash(name))
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	realParent, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	if realParent != realDir && !strings.HasPrefix(realParent, realDir+string(filepath.Separator)) {
		return fmt.Errorf("%w: symbolic link %q is placed through a link outside the archive root", ErrUnzip, f.Name)
	}
	if err := os.Symlink(linkTarget, filepath.Join(realParent, filepath.Base(target))); err != nil {
		return fmt.Errorf("funcrt: unzip: %w", err)
	}
	return nil
}

// mergeLayers builds dst as Lambda's /opt: the layers' trees laid over each
// other in order, later layers replacing earlier files. Files are symbolic
// links to the layer's files (cheap, and executable bits are kept).
func mergeLayers(dst string, layers []string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("funcrt: layers: %w", err)
	}
	for _, layer := range layers {
		abs, err := filepath.Abs(layer)
		if err != nil {
			return fmt.Errorf("funcrt: layers: %w", err)
		}
		err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(abs, p)
			if err != nil || rel == "." {
				return err
			}
			target := filepath.Join(dst, rel)
			st, statErr := os.Lstat(target)
			if d.IsDir() {
				if statErr == nil && !st.IsDir() {
					if err := os.Remove(target); err != nil {
						return err
					}
				}
				return os.MkdirAll(target, 0o755)
			}
			if statErr == nil {
				if err := os.RemoveAll(target); err != nil {
					return err
				}
			}
			if d.Type()&fs.ModeSymlink != 0 {
				lt, err := os.Readlink(p)
				if err != nil {
					return err
				}
				return os.Symlink(lt, target)
			}
			return os.Symlink(p, target)
		})
		if err != nil {
			return fmt.Errorf("funcrt: layers: %s: %w", layer, err)
		}
	}
	return nil
}
