package lambda

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// Presigned code downloads: GetFunction's Code.Location and
// GetLayerVersion's Content.Location are URLs of the form
// <endpoint>/2015-03-31/presigned-code?Key=<blob>&Expires=<unix>&Signature=<hmac>
// that anyone holding them may fetch without signing until they expire,
// like the presigned S3 URLs Lambda hands out.

// presignPath is the path of presigned downloads.
const presignPath = "/2015-03-31/presigned-code"

// presignTTL is how long a presigned URL stays valid (Lambda's are valid
// for 10 minutes).
const presignTTL = 10 * time.Minute

// nsSecrets holds the service's HMAC key, shared by every node on the
// same storage so a URL minted on one node works on another.
const nsSecrets = "lambda.secrets"

// presigner holds the HMAC key, loaded or created on first use.
type presigner struct {
	mu  sync.Mutex
	key []byte
}

func (s *Service) presignKey(ctx context.Context) []byte {
	p := &s.presign
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key != nil {
		return p.key
	}
	rec, err := s.deps.Meta.Get(ctx, nsSecrets, "presign")
	if errors.Is(err, storage.ErrNotFound) {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		if _, err = s.deps.Meta.Put(ctx, nsSecrets, "presign", []byte(hex.EncodeToString(k)), storage.MustNotExist); err == nil {
			p.key = k
			return k
		}
		rec, err = s.deps.Meta.Get(ctx, nsSecrets, "presign") // another node won the race
	}
	if err == nil {
		if k, derr := hex.DecodeString(string(rec.Value)); derr == nil && len(k) > 0 {
			p.key = k
			return k
		}
	}
	// Storage trouble: a process-local key still yields working URLs here.
	s.log.Warn("lambda: presign key not stored; using a process-local key", "err", err)
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	p.key = k
	return k
}

func presignMAC(key []byte, blobKey string, expires int64) string {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, blobKey+"\n"+strconv.FormatInt(expires, 10))
	return hex.EncodeToString(m.Sum(nil))
}

// presignedURL returns a URL that downloads a blob until presignTTL from
// now (server clock).
func (s *Service) presignedURL(ctx context.Context, call interface{ BaseURL() string }, blobKey string) string {
	exp := s.deps.Clock.Now().Add(presignTTL).Unix()
	q := url.Values{"Key": {blobKey}, "Expires": {strconv.FormatInt(exp, 10)}, "Signature": {presignMAC(s.presignKey(ctx), blobKey, exp)}}
	return call.BaseURL() + presignPath + "?" + q.Encode()
}

// servePresigned serves a presigned download.
func (s *Service) servePresigned(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("Key")
	exp, err := strconv.ParseInt(q.Get("Expires"), 10, 64)
	want := presignMAC(s.presignKey(r.Context()), key, exp)
	if err != nil || !hmac.Equal([]byte(want), []byte(q.Get("Signature"))) {
		http.Error(w, "AccessDenied: the request signature does not match", http.StatusForbidden)
		return
	}
	if s.deps.Clock.Now().Unix() > exp {
		http.Error(w, "AccessDenied: Request has expired", http.StatusForbidden)
		return
	}
	rc, info, err := s.deps.Blobs.Get(r.Context(), key)
	if err != nil {
		http.Error(w, "NoSuchKey: The specified key does not exist.", http.StatusNotFound)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, rc)
	}
}
