package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

// Payload limits of Invoke.
const (
	maxSyncPayload  = 6 * 1024 * 1024
	maxAsyncPayload = 1024 * 1024
)

// InvokeResult is the outcome of InvokeInternal.
type InvokeResult struct {
	// StatusCode is 200 for a synchronous invocation and 202 for an
	// accepted asynchronous one.
	StatusCode int
	// RequestID is the invocation's request id.
	RequestID string
	// Payload is the function's response or error document (sync only).
	Payload []byte
	// FunctionError is "" or "Unhandled" (sync only).
	FunctionError string
	// ExecutedVersion is the version that ran (sync only).
	ExecutedVersion string
}

// invokeOpts are the per-invocation inputs besides the payload.
type invokeOpts struct {
	requestID     string
	clientContext string
	invokedARN    string
	// logTail asks for the invocation's log tail (LogType Tail); without
	// it the REPORT line is written after the answer is handed back.
	logTail bool
}

// pickVersion applies an alias's weighted routing.
func (s *Service) pickVersion(ctx context.Context, res *resolved) error {
	if res.alias == nil || len(res.alias.Weights) == 0 {
		return nil
	}
	x := rand.Float64()
	acc := 0.0
	for v, w := range res.alias.Weights {
		acc += w
		if x < acc {
			load := s.loadVersion
			if res.hot {
				load = s.loadVersionHot
			}
			cfg, err := load(ctx, res.ref, v)
			if err != nil {
				return err
			}
			res.cfg = cfg
			return nil
		}
	}
	return nil
}

// run invokes the resolved version synchronously: it takes a concurrency
// slot, finds or starts the version's runtime and runs the request.
func (s *Service) run(ctx context.Context, res resolved, payload []byte, o invokeOpts) (funcrt.Result, error) {
	if res.cfg.State != "" && res.cfg.State != "Active" {
		return funcrt.Result{}, errConflict("The operation cannot be performed at this time. The function is currently in the following state: %s", res.cfg.State)
	}
	release, err := s.conc.acquire(ctx, res.ref)
	if err != nil {
		s.m.throttles.WithLabelValues(res.ref.Name).Inc()
		return funcrt.Result{}, err
	}
	defer release()
	e, err := s.rt.acquire(ctx, res.ref, &res.cfg)
	if err != nil {
		return funcrt.Result{}, err
	}
	defer s.rt.release(e)
	arn := o.invokedARN
	if arn == "" {
		arn = res.ref.qualifiedARN()
	}
	start := time.Now()
	out, err := e.mgr.Invoke(ctx, funcrt.Request{RequestID: o.requestID, Payload: payload,
		InvokedFunctionARN: arn, ClientContext: o.clientContext, DeferReport: !o.logTail})
	var te *funcrt.ThrottleError
	switch {
	case errors.As(err, &te):
		s.m.throttles.WithLabelValues(res.ref.Name).Inc()
		return out, errTooManyRequests(reasonAccount)
	case errors.Is(err, funcrt.ErrPayloadTooLarge):
		return out, errRequestTooLarge(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload))
	case err != nil:
		return out, fmt.Errorf("lambda: invoke %s: %w", res.ref.qualifiedARN(), err)
	}
	s.m.observe(res.ref.Name, out, time.Since(start))
	return out, nil
}

func (s *Service) invoke(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, true)
	if err != nil {
		return err
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	if typ != "RequestResponse" && typ != "Event" && typ != "DryRun" {
		return errValidation("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return errValidation("1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", logType)
	}
	// Invoke is a CloudTrail data event, not a management event: it is
	// not in the account's trail (nor on its default bus), as on AWS.
	call.NoTrail = true
	limit := int64(maxSyncPayload)
	if typ == "Event" {
		limit = maxAsyncPayload
	}
	payload, err := protocol.ReadBody(r, 0)
	if err != nil {
		return err
	}
	if int64(len(payload)) > limit {
		return errRequestTooLarge(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit))
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		return userError(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	var clientCtx string
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			return userError(http.StatusBadRequest, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
		}
		clientCtx = string(b)
	}
	ctx := r.Context()
	res, err := s.resolveHot(ctx, ref)
	if err := authorizeInvoke(&s.policies, call, ref, res, err); err != nil {
		return err
	}
	call.Resources = []service.Resource{{Type: "AWS::Lambda::Function", Name: ref.qualifiedARN()}}
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "Event":
		if err := s.async.enqueue(ctx, res, payload, call.RequestID, ""); err != nil {
			return err
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	if err := s.pickVersion(ctx, &res); err != nil {
		return err
	}
	out, err := s.run(ctx, res, payload, invokeOpts{requestID: call.RequestID, clientContext: clientCtx, logTail: logType == "Tail"})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-Amz-Executed-Version", out.ExecutedVersion)
	if out.FunctionError != "" {
		h.Set("X-Amz-Function-Error", out.FunctionError)
	}
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(out.LogTail))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(out.Payload)
	return nil
}

// invokeAsyncLegacy serves the deprecated InvokeAsync operation (202 with {"Status":202}).
func (s *Service) invokeAsyncLegacy(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, true)
	if err != nil {
		return err
	}
	payload, err := protocol.ReadBody(r, 0)
	if err != nil {
		return err
	}
	if len(payload) > maxAsyncPayload {
		return errRequestTooLarge(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxAsyncPayload))
	}
	res, err := s.resolveHot(r.Context(), ref)
	if err := authorizeInvoke(&s.policies, call, ref, res, err); err != nil {
		return err
	}
	if err := s.async.enqueue(r.Context(), res, payload, call.RequestID, ""); err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusAccepted, map[string]int{"Status": 202})
	return nil
}

// refFromARN resolves a function ARN (qualified or not) used by other
// services.
func refFromARN(arn string) (fnRef, error) {
	svc, region, account, res, ok := parseARN(arn)
	if !ok || svc != "lambda" {
		return fnRef{}, errInvalidParam("invalid function ARN %s", arn)
	}
	call := &service.Call{Account: account, Region: region}
	return parseFunctionName(call, "arn:aws:lambda:"+region+":"+account+":"+res, "", true)
}

// InvokeInternal invokes a function on behalf of another service
// (EventBridge targets, SNS, Step Functions). functionARN may carry a
// version or alias. With async, the event goes through the same durable
// queue as an Event invocation and the result has StatusCode 202; otherwise
// the function runs now and the result carries its answer. Errors are
// *protocol.Error values as the Invoke API would return them.
func (s *Service) InvokeInternal(ctx context.Context, functionARN string, payload []byte, async bool) (InvokeResult, error) {
	ref, err := refFromARN(functionARN)
	if err != nil {
		return InvokeResult{}, err
	}
	res, err := s.resolveHot(ctx, ref)
	if err != nil {
		return InvokeResult{}, err
	}
	reqID := s.deps.IDs.UUID()
	if async {
		if len(payload) > maxAsyncPayload {
			return InvokeResult{}, errRequestTooLarge(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxAsyncPayload))
		}
		if err := s.async.enqueue(ctx, res, payload, reqID, ""); err != nil {
			return InvokeResult{}, err
		}
		return InvokeResult{StatusCode: http.StatusAccepted, RequestID: reqID}, nil
	}
	if err := s.pickVersion(ctx, &res); err != nil {
		return InvokeResult{}, err
	}
	out, err := s.run(ctx, res, payload, invokeOpts{requestID: reqID})
	if err != nil {
		return InvokeResult{}, err
	}
	return InvokeResult{StatusCode: http.StatusOK, RequestID: out.RequestID, Payload: out.Payload,
		FunctionError: out.FunctionError, ExecutedVersion: out.ExecutedVersion}, nil
}
