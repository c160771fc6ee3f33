package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt"
)

// credentialLifetime is how long a function's role credentials are valid;
// an environment set is replaced when less than credentialRefresh is left.
const (
	credentialLifetime = 12 * time.Hour
	credentialRefresh  = time.Hour
)

// runtimes holds one funcrt.Manager per function version in use, keyed by
// account/region/name/version and replaced when the version's revision
// changes (a new $LATEST configuration or code starts new environments, as
// in Lambda). A replaced manager is closed once its in-flight invocations end.
type runtimes struct {
	s       *Service
	mu      sync.Mutex
	entries map[string]*rtEntry
	unpack_ sync.Mutex
	// creds caches minted role credentials per account, role and function,
	// so a new configuration revision (a new manager) reuses them instead
	// of paying a durable identity write on its cold start.
	credsMu sync.Mutex
	creds   map[string]roleCreds
	// pool holds pre-started sandbox helpers for every manager's cold
	// starts; closeAll closes it after the managers.
	pool *funcrt.SandboxPool
}

type roleCreds struct {
	c       funcrt.Credentials
	expires time.Time
}

type rtEntry struct {
	key     string
	rev     string
	mgr     *funcrt.Manager
	expires time.Time
	active  int
	retired bool
}

func newRuntimes(s *Service) *runtimes {
	return &runtimes{s: s, entries: map[string]*rtEntry{}, creds: map[string]roleCreds{},
		pool: funcrt.NewSandboxPool(s.cfg.SandboxPool, s.log)}
}

// codeDir is where a code or layer blob is unpacked.
func (rt *runtimes) codeDir(blobKey string) string {
	sum := sha256.Sum256([]byte(blobKey))
	return filepath.Join(rt.s.deps.WorkDir, "code", hex.EncodeToString(sum[:12]))
}

var errUnzip = func() error {
	return errInvalidParam("Could not unzip uploaded file. Please check your file, then try to upload again.")
}

// unpack validates a zip archive and extracts it into the code cache.
func (rt *runtimes) unpack(blobKey string, data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return errUnzip()
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
	}
	if total > maxUnzippedSize {
		return errInvalidParam("Unzipped size must be smaller than %d bytes", maxUnzippedSize)
	}
	dir := rt.codeDir(blobKey)
	rt.unpack_.Lock()
	defer rt.unpack_.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("lambda: code cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-")
	if err != nil {
		return fmt.Errorf("lambda: code cache: %w", err)
	}
	if err := funcrt.Unzip(bytes.NewReader(data), int64(len(data)), tmp, maxUnzippedSize); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, funcrt.ErrUnzip) {
			return errUnzip()
		}
		return fmt.Errorf("lambda: unpack: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("lambda: code cache: %w", err)
	}
	return nil
}

// ensureUnpacked makes sure a blob's archive is in the code cache (after a
// restart the cache may be gone; the blob store is the source of truth).
func (rt *runtimes) ensureUnpacked(ctx context.Context, blobKey string) (string, error) {
	dir := rt.codeDir(blobKey)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	rc, _, err := rt.s.deps.Blobs.Get(ctx, blobKey)
	if err != nil {
		return "", fmt.Errorf("lambda: load code %s: %w", blobKey, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return "", fmt.Errorf("lambda: load code %s: %w", blobKey, err)
	}
	if err := rt.unpack(blobKey, data); err != nil {
		return "", err
	}
	return dir, nil
}

// acquire returns the manager running cfg, creating it when needed. The
// caller must release the entry.
func (rt *runtimes) acquire(ctx context.Context, ref fnRef, cfg *fnConfig) (*rtEntry, error) {
	key := ref.key() + "/" + cfg.Version
	now := rt.s.deps.Clock.Now()
	rt.mu.Lock()
	if e := rt.entries[key]; e != nil {
		if e.rev == cfg.RevisionID && now.Before(e.expires.Add(-credentialRefresh)) {
			e.active++
			rt.mu.Unlock()
			return e, nil
		}
		rt.retireLocked(e)
	}
	rt.mu.Unlock()

	mgr, expires, err := rt.newManager(ctx, ref, cfg)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e := rt.entries[key]; e != nil && e.rev == cfg.RevisionID {
		// Someone else created it meanwhile: use theirs.
		go mgr.Close()
		e.active++
		return e, nil
	} else if e != nil {
		rt.retireLocked(e)
	}
	e := &rtEntry{key: key, rev: cfg.RevisionID, mgr: mgr, expires: expires, active: 1}
	rt.entries[key] = e
	return e, nil
}

// peek returns the current manager of a version without creating one.
func (rt *runtimes) peek(key string) *funcrt.Manager {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e := rt.entries[key]; e != nil {
		return e.mgr
	}
	return nil
}

func (rt *runtimes) release(e *rtEntry) {
	rt.mu.Lock()
	e.active--
	closeNow := e.retired && e.active == 0
	rt.mu.Unlock()
	if closeNow {
		go e.mgr.Close()
	}
}

func (rt *runtimes) retireLocked(e *rtEntry) {
	if rt.entries[e.key] == e {
		delete(rt.entries, e.key)
	}
	if e.retired {
		return
	}
	e.retired = true
	if e.active == 0 {
		go e.mgr.Close()
	}
}

// retire drops the manager of one version (key account/region/name/version).
func (rt *runtimes) retire(key string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e := rt.entries[key]; e != nil {
		rt.retireLocked(e)
	}
}

// retirePrefix drops every manager whose key starts with prefix.
func (rt *runtimes) retirePrefix(prefix string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for k, e := range rt.entries {
		if strings.HasPrefix(k, prefix) {
			rt.retireLocked(e)
		}
	}
}

func (rt *runtimes) closeAll() {
	rt.mu.Lock()
	entries := rt.entries
	rt.entries = map[string]*rtEntry{}
	rt.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() { defer wg.Done(); e.mgr.Close() }()
	}
	wg.Wait()
	_ = rt.pool.Close()
}

// roleCredentials returns the execution role's temporary credentials for
// a function, minting them when none are cached or less than
// credentialRefresh of their lifetime is left.
func (rt *runtimes) roleCredentials(ctx context.Context, ref fnRef, role string) (funcrt.Credentials, time.Time, error) {
	s := rt.s
	key := ref.Account + "\x00" + role + "\x00" + ref.Name
	now := s.deps.Clock.Now()
	rt.credsMu.Lock()
	c, ok := rt.creds[key]
	rt.credsMu.Unlock()
	if ok && now.Before(c.expires.Add(-credentialRefresh)) {
		// Still known to the identity store (an admin reset wipes it)?
		// Lookup is normally answered from its in-memory cache.
		if _, err := s.deps.Identity.Lookup(ctx, c.c.AccessKeyID); err == nil {
			return c.c, c.expires, nil
		}
	}
	roleID := "AROA" + strings.ToUpper(s.deps.IDs.Hex(16))
	k, err := s.deps.Identity.CreateTemporary(ctx, ref.Account, role, roleID, ref.Name, "", credentialLifetime)
	if err != nil {
		return funcrt.Credentials{}, time.Time{}, fmt.Errorf("lambda: role credentials: %w", err)
	}
	c = roleCreds{c: funcrt.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.Secret, SessionToken: k.SessionToken}, expires: k.Expiration}
	rt.credsMu.Lock()
	if len(rt.creds) >= hotCacheMax {
		clear(rt.creds)
	}
	rt.creds[key] = c
	rt.credsMu.Unlock()
	return c.c, c.expires, nil
}

// prefetchCredentials mints (or confirms) the execution role's
// credentials for a function that was just created or changed, so that its
// first cold start finds them cached instead of paying the identity
// store's durable write. Failures are left for the cold start to report.
func (rt *runtimes) prefetchCredentials(ctx context.Context, ref fnRef, role string) {
	if rt.s.deps.Identity == nil {
		return
	}
	if _, _, err := rt.roleCredentials(ctx, ref, role); err != nil {
		rt.s.log.Debug("lambda: role credentials not minted ahead", "function", ref.arn(), "err", err)
	}
}

func (rt *runtimes) newManager(ctx context.Context, ref fnRef, cfg *fnConfig) (*funcrt.Manager, time.Time, error) {
	s := rt.s
	codeDir, err := rt.ensureUnpacked(ctx, cfg.CodeKey)
	if err != nil {
		return nil, time.Time{}, err
	}
	var layerDirs []string
	for _, l := range cfg.Layers {
		d, err := rt.ensureUnpacked(ctx, l.BlobKey)
		if err != nil {
			return nil, time.Time{}, err
		}
		layerDirs = append(layerDirs, d)
	}
	arn := ref.arn()
	if cfg.Version != latest {
		arn += ":" + cfg.Version
	}
	fc := funcrt.Config{
		FunctionName: ref.Name, Version: cfg.Version, FunctionARN: arn, Region: ref.Region,
		MemoryMB: cfg.MemorySize, Timeout: time.Duration(cfg.Timeout) * time.Second,
		Handler: cfg.Handler, Runtime: cfg.Runtime, CodeDir: codeDir, LayerDirs: layerDirs,
		Env: cfg.Env, LogGroupName: cfg.Logging.LogGroup,
		Bootstrap: rt.bootstrap(cfg.Runtime),
	}
	if s.deps.Endpoint != nil {
		fc.EndpointURL = s.deps.Endpoint()
	}
	expires := s.deps.Clock.Now().Add(100 * 365 * 24 * time.Hour)
	if s.deps.Identity != nil {
		c, exp, err := rt.roleCredentials(ctx, ref, cfg.Role)
		if err != nil {
			return nil, time.Time{}, err
		}
		fc.Credentials, expires = c, exp
	}
	envDir := filepath.Join(s.deps.WorkDir, "env")
	if err := os.MkdirAll(envDir, 0o755); err != nil {
		return nil, time.Time{}, fmt.Errorf("lambda: environments dir: %w", err)
	}
	mgr, err := funcrt.New(fc, funcrt.Options{
		MaxEnvironments: s.cfg.AccountConcurrency,
		IdleTTL:         s.cfg.IdleTTL,
		TempDir:         envDir,
		CgroupParent:    s.cfg.CgroupParent,
		Isolation:       s.cfg.Isolation,
		Sink:            s.sink.forAccount(ref.Account, ref.Region, cfg.Logging),
		Clock:           s.deps.Clock,
		Logger:          s.log,
		SandboxPool:     rt.pool,
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("lambda: start runtime: %w", err)
	}
	return mgr, expires, nil
}
