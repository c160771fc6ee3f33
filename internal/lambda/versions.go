package lambda

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// publishLocked publishes fn's $LATEST (already set in fn) as a new
// version, unless the last version was published from the same revision.
// The caller holds the function lock.
func (s *Service) publishLocked(ctx context.Context, ref fnRef, fn *fnRecord, ver int64, description, _ string) (fnConfig, error) {
	if fn.LastVersion > 0 {
		last, err := s.loadVersion(ctx, ref, strconv.Itoa(fn.LastVersion))
		if err == nil && last.FromRevision == fn.Latest.RevisionID {
			if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
				return fnConfig{}, err
			}
			return last, nil
		}
	}
	fn.LastVersion++
	v := fn.Latest
	v.Version = strconv.Itoa(fn.LastVersion)
	v.FromRevision = fn.Latest.RevisionID
	v.RevisionID = s.deps.IDs.UUID()
	v.LastUpdate = "Successful"
	v.State = "Active"
	if description != "" {
		v.Description = description
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return fnConfig{}, errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", ref.arn())
		}
		return fnConfig{}, err
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsVersions, ref.key()+"/"+versionKey(fn.LastVersion), v, storage.AnyVersion); err != nil {
		return fnConfig{}, err
	}
	return v, nil
}

func (s *Service) publishVersion(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	var in struct {
		CodeSha256  string `json:"CodeSha256"`
		Description string `json:"Description"`
		RevisionId  string `json:"RevisionId"`
	}
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadFunction(ctx, ref)
	if err != nil {
		return err
	}
	if in.RevisionId != "" && in.RevisionId != fn.Latest.RevisionID {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	if in.CodeSha256 != "" && in.CodeSha256 != fn.Latest.CodeSha256 {
		return errInvalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSha256, fn.Latest.CodeSha256)
	}
	v, err := s.publishLocked(ctx, ref, &fn, ver, in.Description, in.CodeSha256)
	if err != nil {
		return err
	}
	call.Resources = []service.Resource{{Type: "AWS::Lambda::Function", Name: ref.arn() + ":" + v.Version}}
	s.codec.WriteJSON(w, http.StatusCreated, v.wire(ref, ref.Name))
	return nil
}

func (s *Service) listVersions(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	maxItems, err := parseMaxItems(r.URL.Query().Get("MaxItems"), 10000, 50)
	if err != nil {
		return err
	}
	ctx := r.Context()
	fn, _, err := s.loadFunction(ctx, ref)
	if err != nil {
		return err
	}
	items := []wireConfig{listConfig(fn.Latest.wire(ref, ref.Name))}
	vs, _, err := storage.ListJSON[fnConfig](ctx, s.deps.Meta, nsVersions, ref.key()+"/")
	if err != nil {
		return err
	}
	for _, v := range vs {
		items = append(items, listConfig(v.wire(ref, ref.Name)))
	}
	page, next := paginate(items, r.URL.Query().Get("Marker"), maxItems, func(c wireConfig) string { return c.FunctionArn })
	out := map[string]any{"Versions": append([]wireConfig{}, page...)}
	if next != "" {
		out["NextMarker"] = next
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
	return nil
}
