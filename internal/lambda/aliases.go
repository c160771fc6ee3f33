package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

type routingInput struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type aliasInput struct {
	Name            string        `json:"Name"`
	FunctionVersion *string       `json:"FunctionVersion"`
	Description     *string       `json:"Description"`
	RoutingConfig   *routingInput `json:"RoutingConfig"`
	RevisionId      string        `json:"RevisionId"`
}

type wireAlias struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RevisionId      string         `json:"RevisionId"`
	RoutingConfig   map[string]any `json:"RoutingConfig,omitempty"`
}

func (a aliasRecord) wire(ref fnRef) wireAlias {
	w := wireAlias{AliasArn: ref.arn() + ":" + a.Name, Name: a.Name, FunctionVersion: a.FunctionVersion,
		Description: a.Description, RevisionId: a.RevisionID}
	if len(a.Weights) > 0 {
		w.RoutingConfig = map[string]any{"AdditionalVersionWeights": a.Weights}
	}
	return w
}

func formatWeights(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
		if m[k] == float64(int64(m[k])) {
			parts[i] = fmt.Sprintf("%s=%.1f", k, m[k])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// validateRouting checks an alias's routing against Lambda's rules.
func (s *Service) validateRouting(ctx context.Context, ref fnRef, primary string, rc *routingInput) (map[string]float64, error) {
	if rc == nil || len(rc.AdditionalVersionWeights) == 0 {
		return nil, nil
	}
	wts := rc.AdditionalVersionWeights
	for k, v := range wts {
		if !isVersionNumber(k) {
			return nil, errValidation("1 validation error detected: Value '%s' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]", formatWeights(wts))
		}
		if v < 0 || v > 1 {
			return nil, errValidation("1 validation error detected: Value '%s' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]", formatWeights(wts))
		}
	}
	if len(wts) > 1 {
		return nil, errInvalidParam("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if primary == latest {
		return nil, &protocol.Error{Code: "InvalidParameterValueException", Status: 400, Message: "$LATEST is not supported for an alias pointing to more than 1 version"}
	}
	for k := range wts {
		if k == primary {
			return nil, errInvalidParam("Invalid function version %s. Function version %s is already included in routing configuration.", k, k)
		}
		if _, err := s.loadVersion(ctx, ref, k); err != nil {
			return nil, err
		}
	}
	return wts, nil
}

func (s *Service) aliasRef(r *http.Request, call *service.Call) (fnRef, error) {
	ref, err := parseFunctionName(call, r.PathValue("name"), "", false)
	if err != nil {
		return ref, err
	}
	if ref.Qualifier != "" {
		return ref, errValidationPattern(r.PathValue("name"), "functionName", functionNamePattern)
	}
	return ref, nil
}

func validAliasName(n string) error {
	if n == "" || len(n) > 128 || !aliasNameRE.MatchString(n) || isVersionNumber(n) {
		return errValidationPattern(n, "name", aliasNamePattern)
	}
	return nil
}

func (s *Service) createAlias(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.aliasRef(r, call)
	if err != nil {
		return err
	}
	var in aliasInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := validAliasName(in.Name); err != nil {
		return err
	}
	if in.FunctionVersion == nil {
		return errValidation("1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return err
	}
	fv := *in.FunctionVersion
	if fv != latest {
		if _, err := s.loadVersion(ctx, ref, fv); err != nil {
			return err
		}
	}
	wts, err := s.validateRouting(ctx, ref, fv, in.RoutingConfig)
	if err != nil {
		return err
	}
	a := aliasRecord{Name: in.Name, FunctionVersion: fv, Weights: wts, RevisionID: s.deps.IDs.UUID()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsAliases, ref.key()+"/"+in.Name, a, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("Alias already exists: %s", ref.arn()+":"+in.Name)
		}
		return err
	}
	s.codec.WriteJSON(w, http.StatusCreated, a.wire(ref))
	return nil
}

func (s *Service) getAlias(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.aliasRef(r, call)
	if err != nil {
		return err
	}
	name := r.PathValue("alias")
	if _, _, err := s.loadFunction(r.Context(), ref); err != nil {
		return err
	}
	a, _, err := loadJSON[aliasRecord](r.Context(), s.deps.Meta, nsAliases, ref.key()+"/"+name, func() error {
		return errNotFound("Cannot find alias arn: %s", ref.arn()+":"+name)
	})
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, a.wire(ref))
	return nil
}

func (s *Service) updateAlias(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.aliasRef(r, call)
	if err != nil {
		return err
	}
	name := r.PathValue("alias")
	var in aliasInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return err
	}
	a, ver, err := loadJSON[aliasRecord](ctx, s.deps.Meta, nsAliases, ref.key()+"/"+name, func() error {
		return errNotFound("Alias not found: %s", ref.arn()+":"+name)
	})
	if err != nil {
		return err
	}
	if in.RevisionId != "" && in.RevisionId != a.RevisionID {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	if in.FunctionVersion != nil {
		if *in.FunctionVersion != latest {
			if _, err := s.loadVersion(ctx, ref, *in.FunctionVersion); err != nil {
				return err
			}
		}
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		wts, err := s.validateRouting(ctx, ref, a.FunctionVersion, in.RoutingConfig)
		if err != nil {
			return err
		}
		a.Weights = wts
	}
	a.RevisionID = s.deps.IDs.UUID()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsAliases, ref.key()+"/"+name, a, ver); err != nil {
		return err
	}
	s.prov.aliasMoved(ref, name)
	s.codec.WriteJSON(w, http.StatusOK, a.wire(ref))
	return nil
}

func (s *Service) deleteAlias(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.aliasRef(r, call)
	if err != nil {
		return err
	}
	name := r.PathValue("alias")
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	if err := s.deps.Meta.Delete(ctx, nsAliases, ref.key()+"/"+name, storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	_ = s.deps.Meta.Delete(ctx, nsEventConfig, ref.key()+"/"+name, storage.AnyVersion)
	_ = s.deps.Meta.Delete(ctx, nsProvisioned, ref.key()+"/"+name, storage.AnyVersion)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listAliases(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.aliasRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return err
	}
	maxItems, err := parseMaxItems(r.URL.Query().Get("MaxItems"), 10000, 50)
	if err != nil {
		return err
	}
	as, _, err := storage.ListJSON[aliasRecord](ctx, s.deps.Meta, nsAliases, ref.key()+"/")
	if err != nil {
		return err
	}
	fv := r.URL.Query().Get("FunctionVersion")
	var items []wireAlias
	for _, a := range as {
		if fv == "" || a.FunctionVersion == fv {
			items = append(items, a.wire(ref))
		}
	}
	page, next := paginate(items, r.URL.Query().Get("Marker"), maxItems, func(a wireAlias) string { return a.AliasArn })
	out := map[string]any{"Aliases": append([]wireAlias{}, page...)}
	if next != "" {
		out["NextMarker"] = next
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
	return nil
}

var _ = json.Marshal
