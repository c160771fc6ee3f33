package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// This file is what Application Auto Scaling (internal/autoscaling) needs
// from Lambda to scale provisioned concurrency: the qualifier's
// configuration, its utilisation right now, and a way to set it that goes
// through PutProvisionedConcurrencyConfig's own code path (same
// validation, same limits, same background pre-warming).

// ProvisionedConcurrency returns the provisioned concurrency configuration
// of a function version or alias: the requested and allocated executions,
// the status (IN_PROGRESS, READY, FAILED; "" when the qualifier has no
// configuration) and the status reason. A function or qualifier that does
// not exist is Lambda's ResourceNotFoundException.
func (s *Service) ProvisionedConcurrency(ctx context.Context, account, region, function, qualifier string) (requested, allocated int, status, reason string, err error) {
	ref := fnRef{Account: account, Region: region, Name: function, Qualifier: qualifier}
	if _, err := s.resolve(ctx, ref); err != nil {
		return 0, 0, "", "", err
	}
	rec, _, err := storage.GetJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, ref.key()+"/"+qualifier)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, 0, "", "", nil
	}
	if err != nil {
		return 0, 0, "", "", err
	}
	if rec.Status == "READY" {
		allocated = rec.Requested
	}
	return rec.Requested, allocated, rec.Status, rec.Reason, nil
}

// ProvisionedUtilization returns the qualifier's provisioned concurrency
// in use right now: busy is the number of provisioned execution
// environments running an invocation, allocated the number allocated
// (0 while the configuration is not READY), and utilization busy/allocated
// (Lambda's ProvisionedConcurrencyUtilization, also set as the
// fogbank_lambda_provisioned_concurrency_utilization gauge). Invocations
// use provisioned environments before on-demand ones, so busy is
// min(busy environments, provisioned environments).
func (s *Service) ProvisionedUtilization(ctx context.Context, account, region, function, qualifier string) (busy, allocated int, utilization float64, err error) {
	ref := fnRef{Account: account, Region: region, Name: function, Qualifier: qualifier}
	res, err := s.resolve(ctx, ref)
	if err != nil {
		return 0, 0, 0, err
	}
	rec, _, err := storage.GetJSON[provRecord](ctx, s.deps.Meta, nsProvisioned, ref.key()+"/"+qualifier)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && rec.Status != "READY") {
		return 0, 0, 0, nil
	}
	if err != nil {
		return 0, 0, 0, err
	}
	allocated = rec.Requested
	if m := s.rt.peek(ref.key() + "/" + res.cfg.Version); m != nil {
		st := m.Stats()
		busy = min(st.Busy, st.Provisioned, allocated)
	}
	if allocated > 0 {
		utilization = float64(busy) / float64(allocated)
	}
	s.m.provisionedUse.WithLabelValues(function, qualifier).Set(utilization)
	return busy, allocated, utilization, nil
}

// SetProvisionedConcurrency sets a qualifier's provisioned concurrency to n
// as PutProvisionedConcurrencyConfig does (n == 0 deletes the
// configuration, as DeleteProvisionedConcurrencyConfig). Errors are
// Lambda's API errors (*protocol.Error), as a caller of the API gets them.
func (s *Service) SetProvisionedConcurrency(ctx context.Context, account, region, function, qualifier string, n int) error {
	call := &service.Call{Service: "lambda", Account: account, Region: region,
		Time: s.deps.Clock.Now().UTC(), NoTrail: true}
	method, op, body := http.MethodPut, "PutProvisionedConcurrencyConfig", `{"ProvisionedConcurrentExecutions":`+strconv.Itoa(n)+`}`
	if n == 0 {
		method, op, body = http.MethodDelete, "DeleteProvisionedConcurrencyConfig", ""
	}
	call.Operation = op
	u := "/2019-09-30/functions/" + url.PathEscape(function) + "/provisioned-concurrency?Qualifier=" + url.QueryEscape(qualifier)
	r, err := http.NewRequestWithContext(service.WithCall(ctx, call), method, u, bytes.NewReader([]byte(body)))
	if err != nil {
		return fmt.Errorf("lambda: set provisioned concurrency: %w", err)
	}
	r.SetPathValue("name", function)
	w := &discardResponse{header: http.Header{}}
	if n == 0 {
		err = s.deleteProvisioned(w, r, call)
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == "ProvisionedConcurrencyConfigNotFoundException" {
			return nil
		}
		return err
	}
	return s.putProvisioned(w, r, call)
}

// discardResponse is the ResponseWriter of internal API calls whose
// answer is not needed.
type discardResponse struct {
	header http.Header
	status int
}

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(code int)        { d.status = code }
