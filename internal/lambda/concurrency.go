package lambda

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// concurrency counts in-flight invocations per account and region and per
// function, and throttles as Lambda does: a function with reserved
// concurrency R runs at most R at once; the others share the account
// limit minus every reservation. State is per server process.
type concurrency struct {
	s     *Service
	mu    sync.Mutex
	accts map[string]*acctConc
}

type acctConc struct {
	reserved   map[string]int
	sum        int
	unreserved int // in-flight invocations of functions without a reservation
	inflight   map[string]int
	total      int
}

func newConcurrency(s *Service) *concurrency {
	return &concurrency{s: s, accts: map[string]*acctConc{}}
}

// account returns the counters of ref's account and region, loading the
// reservations on first use.
func (c *concurrency) account(ctx context.Context, ref fnRef) (*acctConc, error) {
	k := ref.Account + "/" + ref.Region
	c.mu.Lock()
	a := c.accts[k]
	c.mu.Unlock()
	if a != nil {
		return a, nil
	}
	fns, _, err := storage.ListJSON[fnRecord](ctx, c.s.deps.Meta, nsFunctions, k+"/")
	if err != nil {
		return nil, err
	}
	na := &acctConc{reserved: map[string]int{}, inflight: map[string]int{}}
	for _, f := range fns {
		if f.Reserved != nil {
			na.reserved[f.Name] = *f.Reserved
			na.sum += *f.Reserved
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a = c.accts[k]; a != nil {
		return a, nil
	}
	c.accts[k] = na
	return na, nil
}

// setReserved records a function's reservation (nil: none).
func (c *concurrency) setReserved(ref fnRef, v *int) {
	a, err := c.account(context.Background(), ref)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := a.reserved[ref.Name]; ok {
		a.sum -= old
		delete(a.reserved, ref.Name)
	}
	if v != nil {
		a.reserved[ref.Name] = *v
		a.sum += *v
	}
}

// reservedSum returns the account's total reservation.
func (c *concurrency) reservedSum(ctx context.Context, ref fnRef) (int, error) {
	a, err := c.account(ctx, ref)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return a.sum, nil
}

// acquire takes a concurrency slot for one invocation of ref's function or
// returns TooManyRequestsException with Lambda's reason.
func (c *concurrency) acquire(ctx context.Context, ref fnRef) (func(), error) {
	a, err := c.account(ctx, ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, reserved := a.reserved[ref.Name]
	if reserved {
		if a.inflight[ref.Name] >= r {
			return nil, errTooManyRequests(reasonReserved)
		}
	} else if a.unreserved >= c.s.cfg.AccountConcurrency-a.sum {
		return nil, errTooManyRequests(reasonAccount)
	}
	a.inflight[ref.Name]++
	a.total++
	if !reserved {
		a.unreserved++
	}
	c.s.m.concurrent.Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			a.inflight[ref.Name]--
			if a.inflight[ref.Name] == 0 {
				delete(a.inflight, ref.Name)
			}
			a.total--
			if !reserved {
				a.unreserved--
			}
			c.s.m.concurrent.Dec()
		})
	}, nil
}

// --- API ------------------------------------------------------------------

func (s *Service) unqualifiedOnly(ref fnRef) error {
	if ref.Qualifier != "" {
		return errInvalidParam("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	return nil
}

func (s *Service) putConcurrency(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	var in struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.ReservedConcurrentExecutions == nil {
		return errValidation("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	v := *in.ReservedConcurrentExecutions
	if v < 0 {
		return errValidation("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", v)
	}
	if err := s.unqualifiedOnly(ref); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadFunction(ctx, ref)
	if err != nil {
		if ref.Qualifier == "" {
			return errFunctionNotFound(ref.arn() + ":" + latest)
		}
		return err
	}
	sum, err := s.conc.reservedSum(ctx, ref)
	if err != nil {
		return err
	}
	if fn.Reserved != nil {
		sum -= *fn.Reserved
	}
	if s.cfg.AccountConcurrency-(sum+v) < s.cfg.MinUnreserved {
		return &protocol.Error{Code: "InvalidParameterValueException", Status: http.StatusBadRequest,
			Message: "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [" + itoa(s.cfg.MinUnreserved) + "]."}
	}
	prov, err := s.totalProvisioned(ctx, ref)
	if err != nil {
		return err
	}
	if v < prov {
		return &protocol.Error{Code: "InvalidParameterValueException", Status: http.StatusBadRequest,
			Message: " ReservedConcurrentExecutions  " + itoa(v) + " should not be lower than function's total provisioned concurrency [" + itoa(prov) + "]."}
	}
	fn.Reserved = &v
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", ref.arn())
		}
		return err
	}
	s.conc.setReserved(ref, &v)
	s.codec.WriteJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": v})
	return nil
}

// unqualifiedRef is the function the request names, which must not be
// qualified.
func (s *Service) unqualifiedRef(r *http.Request, call *service.Call) (fnRef, error) {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return ref, err
	}
	return ref, s.unqualifiedOnly(ref)
}

// loadLatest is loadFunction for operations on $LATEST: any failure is
// ResourceNotFoundException naming it.
func (s *Service) loadLatest(ctx context.Context, ref fnRef) (fnRecord, int64, error) {
	fn, ver, err := s.loadFunction(ctx, ref)
	if err != nil {
		return fn, 0, errFunctionNotFound(ref.arn() + ":" + latest)
	}
	return fn, ver, nil
}

func (s *Service) getConcurrency(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.unqualifiedRef(r, call)
	if err != nil {
		return err
	}
	fn, _, err := s.loadLatest(r.Context(), ref)
	if err != nil {
		return err
	}
	if fn.Reserved == nil {
		s.codec.WriteJSON(w, http.StatusOK, map[string]any{})
		return nil
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": *fn.Reserved})
	return nil
}

func (s *Service) deleteConcurrency(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.unqualifiedRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadLatest(ctx, ref)
	if err != nil {
		return err
	}
	fn.Reserved = nil
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		return err
	}
	s.conc.setReserved(ref, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) getAccountSettings(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	ref := fnRef{Account: call.Account, Region: call.Region}
	sum, err := s.conc.reservedSum(ctx, ref)
	if err != nil {
		return err
	}
	fns, _, err := storage.ListJSON[fnRecord](ctx, s.deps.Meta, nsFunctions, call.Account+"/"+call.Region+"/")
	if err != nil {
		return err
	}
	var total int64
	for _, f := range fns {
		total += f.Latest.CodeSize
		fr := ref
		fr.Name = f.Name
		vs, _, err := storage.ListJSON[fnConfig](ctx, s.deps.Meta, nsVersions, fr.key()+"/")
		if err != nil {
			return err
		}
		for _, v := range vs {
			total += v.CodeSize
		}
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{
		"AccountLimit": map[string]any{
			"TotalCodeSize": int64(80530636800), "CodeSizeUnzipped": maxUnzippedSize, "CodeSizeZipped": maxZippedSize,
			"ConcurrentExecutions": s.cfg.AccountConcurrency, "UnreservedConcurrentExecutions": s.cfg.AccountConcurrency - sum,
		},
		"AccountUsage": map[string]any{"TotalCodeSize": total, "FunctionCount": len(fns)},
	})
	return nil
}
