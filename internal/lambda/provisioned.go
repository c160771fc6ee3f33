package lambda

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// provRecord is a provisioned concurrency configuration of a version or alias.
type provRecord struct {
	Qualifier string    `json:"qualifier"`
	Requested int       `json:"requested"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Modified  time.Time `json:"modified"`
}

// provisioner pre-initialises environments for provisioned concurrency in
// the background (status IN_PROGRESS, then READY or FAILED).
type provisioner struct {
	s *Service
}

func newProvisioner(s *Service) *provisioner { return &provisioner{s: s} }

// apply starts (or re-sizes) the environments of one configuration.
func (p *provisioner) apply(ref fnRef, rec provRecord) {
	s := p.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx := s.ctx
		status, reason := "READY", ""
		err := p.prewarm(ctx, ref, rec.Requested)
		if err != nil {
			status, reason = "FAILED", err.Error()
		}
		key := ref.key() + "/" + rec.Qualifier
		cur, ver, gerr := storage.GetJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, key)
		if gerr != nil || cur.Requested != rec.Requested {
			return
		}
		cur.Status, cur.Reason = status, reason
		_, _ = storage.PutJSON(ctx, s.deps.Meta, nsProvisioned, key, cur, ver)
	}()
}

func (p *provisioner) prewarm(ctx context.Context, ref fnRef, n int) error {
	s := p.s
	res, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	e, err := s.rt.acquire(ctx, ref, &res.cfg)
	if err != nil {
		return err
	}
	defer s.rt.release(e)
	return e.mgr.Prewarm(ctx, n)
}

// aliasMoved re-applies an alias's provisioned concurrency after the alias
// points elsewhere (it moves with the alias, as in Lambda).
func (p *provisioner) aliasMoved(ref fnRef, alias string) {
	ctx := p.s.ctx
	key := ref.key() + "/" + alias
	rec, ver, err := storage.GetJSON[provRecord](ctx, p.s.deps.Meta, nsProvisioned, key)
	if err != nil {
		return
	}
	rec.Status = "IN_PROGRESS"
	if _, err := storage.PutJSON(ctx, p.s.deps.Meta, nsProvisioned, key, rec, ver); err != nil {
		return
	}
	r := ref
	r.Qualifier = alias
	p.apply(r, rec)
}

func (s *Service) totalProvisioned(ctx context.Context, ref fnRef) (int, error) {
	recs, _, err := storage.ListJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, ref.key()+"/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		n += r.Requested
	}
	return n, nil
}

func (r provRecord) wire(s *Service, ref fnRef) map[string]any {
	alloc := 0
	if r.Status == "READY" {
		alloc = r.Requested
	}
	out := map[string]any{
		"RequestedProvisionedConcurrentExecutions": r.Requested,
		"AllocatedProvisionedConcurrentExecutions": alloc,
		"AvailableProvisionedConcurrentExecutions": alloc,
		"Status":       r.Status,
		"LastModified": r.Modified.UTC().Format("2006-01-02T15:04:05+0000"),
	}
	if r.Reason != "" {
		out["StatusReason"] = r.Reason
	}
	return out
}

func (s *Service) provRef(r *http.Request, call *service.Call) (fnRef, error) {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return ref, err
	}
	if ref.Qualifier == "" {
		return ref, errValidation("1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null")
	}
	if ref.Qualifier == latest {
		return ref, errInvalidParam("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	return ref, nil
}

func (s *Service) putProvisioned(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.provRef(r, call)
	if err != nil {
		return err
	}
	var in struct {
		ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
	}
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.ProvisionedConcurrentExecutions == nil || *in.ProvisionedConcurrentExecutions < 1 {
		return errValidation("1 validation error detected: Value '%d' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1", deref(in.ProvisionedConcurrentExecutions))
	}
	n := *in.ProvisionedConcurrentExecutions
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	res, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if res.alias != nil && res.alias.FunctionVersion == latest {
		return errInvalidParam("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	total, err := s.totalProvisioned(ctx, ref)
	if err != nil {
		return err
	}
	key := ref.key() + "/" + ref.Qualifier
	if old, _, err := storage.GetJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, key); err == nil {
		total -= old.Requested
	}
	if res.fn.Reserved != nil && total+n > *res.fn.Reserved {
		return errInvalidParam("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
	}
	sum, err := s.conc.reservedSum(ctx, ref)
	if err != nil {
		return err
	}
	if res.fn.Reserved == nil && s.cfg.AccountConcurrency-sum-(total+n) < s.cfg.MinUnreserved {
		return &protocol.Error{Code: "InvalidParameterValueException", Status: 400,
			Message: "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [" + itoa(s.cfg.MinUnreserved) + "]."}
	}
	rec := provRecord{Qualifier: ref.Qualifier, Requested: n, Status: "IN_PROGRESS", Modified: call.Time}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsProvisioned, key, rec, storage.AnyVersion); err != nil {
		return err
	}
	s.prov.apply(ref, rec)
	s.codec.WriteJSON(w, http.StatusAccepted, rec.wire(s, ref))
	return nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func (s *Service) getProvisioned(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	if r.URL.Query().Get("List") == "ALL" {
		return s.listProvisioned(w, r, call)
	}
	call.Operation = "GetProvisionedConcurrencyConfig"
	ref, err := s.provRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.resolve(ctx, ref); err != nil {
		return err
	}
	rec, _, err := loadJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, ref.key()+"/"+ref.Qualifier, func() error {
		return userError(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
	})
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, rec.wire(s, ref))
	return nil
}

func (s *Service) listProvisioned(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	call.Operation = "ListProvisionedConcurrencyConfigs"
	ref, err := parseFunctionName(call, r.PathValue("name"), "", false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return err
	}
	recs, _, err := storage.ListJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, ref.key()+"/")
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, rec := range recs {
		m := rec.wire(s, ref)
		m["FunctionArn"] = ref.arn() + ":" + rec.Qualifier
		items = append(items, m)
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{"ProvisionedConcurrencyConfigs": items})
	return nil
}

func (s *Service) deleteProvisioned(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.provRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	res, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.deps.Meta.Delete(ctx, nsProvisioned, ref.key()+"/"+ref.Qualifier, storage.AnyVersion); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return userError(http.StatusNotFound, "ProvisionedConcurrencyConfigNotFoundException", "No Provisioned Concurrency Config found for this function")
		}
		return err
	}
	if m := s.rt.peek(ref.key() + "/" + res.cfg.Version); m != nil {
		_ = m.Prewarm(ctx, 0)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var _ = strings.TrimSpace
