package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/fogbank/fogbank/internal/service"
)

// codeLocation returns the Code.Location of GetFunction: a time-limited
// presigned URL on this server that downloads the deployment package
// without signing, as AWS's presigned S3 URL does.
func (s *Service) codeLocation(ctx context.Context, call *service.Call, ref fnRef, cfg fnConfig) string {
	return s.presignedURL(ctx, call, cfg.CodeKey)
}

// downloadCode serves a function's deployment package (Code.Location).
func (s *Service) downloadCode(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	res, err := s.resolve(r.Context(), ref)
	if err != nil {
		return err
	}
	rc, info, err := s.deps.Blobs.Get(r.Context(), res.cfg.CodeKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", itoa(int(info.Size)))
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 64*1024)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if rerr != nil {
			break
		}
	}
	return nil
}

func runtimeDigest(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:])
}
