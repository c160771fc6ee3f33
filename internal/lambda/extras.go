package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/fogbank/fogbank/internal/service"
)

// resolveLayers resolves layer version ARNs. Layers are not served yet,
// so any layer is reported as Lambda reports a layer version that does
// not exist.
func (s *Service) resolveLayers(ctx context.Context, call *service.Call, arns []string) ([]layerRef, error) {
	if len(arns) > 5 {
		return nil, errInvalidParam("Cannot reference more than 5 layers.")
	}
	for _, a := range arns {
		return nil, errInvalidParam("Layer version %s does not exist.", a)
	}
	return nil, nil
}

// codeLocation returns the Code.Location of GetFunction: a URL on this
// server naming the function's code.
func (s *Service) codeLocation(ctx context.Context, call *service.Call, ref fnRef, cfg fnConfig) string {
	q := url.Values{}
	if cfg.Version != latest {
		q.Set("Qualifier", cfg.Version)
	}
	u := call.BaseURL() + "/2015-03-31/functions/" + url.PathEscape(ref.Name) + "/code-download"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
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
