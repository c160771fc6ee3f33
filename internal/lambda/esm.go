package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/pattern"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// esmRecord is an event source mapping (SQS only for now).
type esmRecord struct {
	UUID           string            `json:"uuid"`
	Account        string            `json:"account"`
	Region         string            `json:"region"`
	Source         string            `json:"source"`
	FunctionArn    string            `json:"functionArn"`
	BatchSize      int               `json:"batchSize"`
	Window         int               `json:"window"`
	Enabled        bool              `json:"enabled"`
	Filters        []string          `json:"filters,omitempty"`
	ResponseTypes  []string          `json:"responseTypes"`
	MaxConcurrency int               `json:"maxConcurrency,omitempty"`
	Modified       time.Time         `json:"modified"`
	Tags           map[string]string `json:"tags,omitempty"`
}

func (e esmRecord) key() string { return e.Account + "/" + e.Region + "/" + e.UUID }

func (e esmRecord) arn() string {
	return "arn:aws:lambda:" + e.Region + ":" + e.Account + ":event-source-mapping:" + e.UUID
}

func (e esmRecord) wire(state string) map[string]any {
	out := map[string]any{
		"UUID": e.UUID, "BatchSize": e.BatchSize, "EventSourceArn": e.Source, "FunctionArn": e.FunctionArn,
		"LastModified": protocol.EpochSeconds(e.Modified), "State": state, "StateTransitionReason": "USER_INITIATED",
		"MaximumBatchingWindowInSeconds": e.Window, "FunctionResponseTypes": append([]string{}, e.ResponseTypes...),
		"EventSourceMappingArn": e.arn(),
	}
	if len(e.Filters) > 0 {
		fs := []map[string]string{}
		for _, f := range e.Filters {
			fs = append(fs, map[string]string{"Pattern": f})
		}
		out["FilterCriteria"] = map[string]any{"Filters": fs}
	}
	if e.MaxConcurrency > 0 {
		out["ScalingConfig"] = map[string]int{"MaximumConcurrency": e.MaxConcurrency}
	}
	return out
}

func (e esmRecord) state() string {
	if e.Enabled {
		return "Enabled"
	}
	return "Disabled"
}

type esmInput struct {
	EventSourceArn                 *string `json:"EventSourceArn"`
	FunctionName                   *string `json:"FunctionName"`
	BatchSize                      *int    `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int    `json:"MaximumBatchingWindowInSeconds"`
	Enabled                        *bool   `json:"Enabled"`
	StartingPosition               *string `json:"StartingPosition"`
	FilterCriteria                 *struct {
		Filters []struct {
			Pattern string `json:"Pattern"`
		} `json:"Filters"`
	} `json:"FilterCriteria"`
	FunctionResponseTypes *[]string `json:"FunctionResponseTypes"`
	ScalingConfig         *struct {
		MaximumConcurrency *int `json:"MaximumConcurrency"`
	} `json:"ScalingConfig"`
	Tags map[string]string `json:"Tags"`
}

func (s *Service) applyESM(ctx context.Context, call *service.Call, e *esmRecord, in *esmInput) error {
	if in.FunctionName != nil {
		ref, err := parseFunctionName(call, *in.FunctionName, "", false)
		if err != nil {
			return err
		}
		if _, err := s.resolve(ctx, ref); err != nil {
			return err
		}
		e.FunctionArn = ref.qualifiedARN()
	}
	if in.BatchSize != nil {
		b := *in.BatchSize
		if b < 1 || b > 10000 {
			return errValidation("1 validation error detected: Value '%d' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000", b)
		}
		e.BatchSize = b
	}
	if in.MaximumBatchingWindowInSeconds != nil {
		w := *in.MaximumBatchingWindowInSeconds
		if w < 0 || w > 300 {
			return errValidation("1 validation error detected: Value '%d' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300", w)
		}
		e.Window = w
	}
	if e.BatchSize > 10 && e.Window == 0 {
		return errInvalidParam("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
	}
	if in.FilterCriteria != nil {
		var fs []string
		for _, f := range in.FilterCriteria.Filters {
			if err := pattern.Validate([]byte(f.Pattern)); err != nil {
				return errInvalidParam("Invalid filter pattern definition.")
			}
			fs = append(fs, f.Pattern)
		}
		e.Filters = fs
	}
	if in.FunctionResponseTypes != nil {
		for _, t := range *in.FunctionResponseTypes {
			if t != "ReportBatchItemFailures" {
				return errValidation("1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures], Member must not be null]", t)
			}
		}
		e.ResponseTypes = *in.FunctionResponseTypes
	}
	if in.ScalingConfig != nil && in.ScalingConfig.MaximumConcurrency != nil {
		m := *in.ScalingConfig.MaximumConcurrency
		if m < 2 || m > 1000 {
			return errValidation("1 validation error detected: Value '%d' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value greater than or equal to 2", m)
		}
		e.MaxConcurrency = m
	}
	return nil
}

func (s *Service) createESM(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	var in esmInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.FunctionName == nil {
		return errValidation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	if in.EventSourceArn == nil {
		return errInvalidParam("Unrecognized event source, must be kafka or specify EventSourceArn")
	}
	src := *in.EventSourceArn
	svc, _, _, _, ok := parseARN(src)
	if !ok {
		return errInvalidParam("Unrecognized event source.")
	}
	if svc != "sqs" {
		return errInvalidParam("Fogbank supports event source mappings for SQS only; %s is not supported yet.", src)
	}
	if in.StartingPosition != nil {
		return errInvalidParam("Unsupported starting position for arn type: %s", src)
	}
	ctx := r.Context()
	e := esmRecord{UUID: s.deps.IDs.UUID(), Account: call.Account, Region: call.Region, Source: src,
		BatchSize: 10, Enabled: true, ResponseTypes: []string{}, Modified: call.Time, Tags: in.Tags}
	if err := s.applyESM(ctx, call, &e, &in); err != nil {
		return err
	}
	if s.deps.SQS != nil {
		if _, err := s.deps.SQS.QueueAttributesInternal(ctx, src); err != nil {
			return errInvalidParam("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.")
		}
	}
	existing, _, err := storage.ListJSON[esmRecord](ctx, s.deps.Meta, nsESM, call.Account+"/"+call.Region+"/")
	if err != nil {
		return err
	}
	for _, x := range existing {
		if x.Source == e.Source && x.FunctionArn == e.FunctionArn {
			return errConflict("An event source mapping with SQS arn (\" %s \") and function (\" %s \") already exists. Please update or delete the existing mapping with UUID %s", src, e.FunctionArn, x.UUID)
		}
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsESM, e.key(), e, storage.MustNotExist); err != nil {
		return err
	}
	s.esm.refresh(e)
	s.codec.WriteJSON(w, http.StatusAccepted, e.wire("Creating"))
	return nil
}

func (s *Service) loadESM(ctx context.Context, call *service.Call, id string) (esmRecord, int64, error) {
	return loadJSON[esmRecord](ctx, s.deps.Meta, nsESM, call.Account+"/"+call.Region+"/"+id, func() error {
		return errNotFound("The resource you requested does not exist.")
	})
}

func (s *Service) getESM(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	e, _, err := s.loadESM(r.Context(), call, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, e.wire(e.state()))
	return nil
}

func (s *Service) updateESM(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	var in esmInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	e, ver, err := s.loadESM(ctx, call, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	if err := s.applyESM(ctx, call, &e, &in); err != nil {
		return err
	}
	e.Modified = call.Time
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsESM, e.key(), e, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The operation cannot be performed at this time. The event source mapping is being updated.")
		}
		return err
	}
	s.esm.refresh(e)
	s.codec.WriteJSON(w, http.StatusAccepted, e.wire("Updating"))
	return nil
}

func (s *Service) deleteESM(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	e, _, err := s.loadESM(ctx, call, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	if err := s.deps.Meta.Delete(ctx, nsESM, e.key(), storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	s.esm.stop(e.UUID)
	s.codec.WriteJSON(w, http.StatusAccepted, e.wire("Deleting"))
	return nil
}

func (s *Service) listESMs(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	q := r.URL.Query()
	maxItems, err := parseMaxItems(q.Get("MaxItems"), 10000, 100)
	if err != nil {
		return err
	}
	var fnARN string
	if fn := q.Get("FunctionName"); fn != "" {
		ref, err := parseFunctionName(call, fn, "", false)
		if err != nil {
			return err
		}
		fnARN = ref.qualifiedARN()
	}
	all, _, err := storage.ListJSON[esmRecord](ctx, s.deps.Meta, nsESM, call.Account+"/"+call.Region+"/")
	if err != nil {
		return err
	}
	var items []esmRecord
	for _, e := range all {
		if (fnARN == "" || e.FunctionArn == fnARN) && (q.Get("EventSourceArn") == "" || e.Source == q.Get("EventSourceArn")) {
			items = append(items, e)
		}
	}
	page, next := paginate(items, q.Get("Marker"), maxItems, func(e esmRecord) string { return e.UUID })
	out := []map[string]any{}
	for _, e := range page {
		out = append(out, e.wire(e.state()))
	}
	resp := map[string]any{"EventSourceMappings": out}
	if next != "" {
		resp["NextMarker"] = next
	}
	s.codec.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// --- pollers --------------------------------------------------------------

// esmEngine runs one poller goroutine per enabled SQS mapping.
type esmEngine struct {
	s       *Service
	mu      sync.Mutex
	pollers map[string]context.CancelFunc
	wg      sync.WaitGroup
}

func newESMEngine(s *Service) *esmEngine {
	return &esmEngine{s: s, pollers: map[string]context.CancelFunc{}}
}

func (g *esmEngine) start() {
	all, _, err := storage.ListJSON[esmRecord](g.s.ctx, g.s.deps.Meta, nsESM, "")
	if err != nil {
		g.s.log.Error("lambda: load event source mappings", "err", err)
		return
	}
	for _, e := range all {
		g.refresh(e)
	}
}

func (g *esmEngine) wait() { g.wg.Wait() }

// refresh (re)starts the poller of e, or stops it when e is disabled.
func (g *esmEngine) refresh(e esmRecord) {
	g.stop(e.UUID)
	if !e.Enabled || g.s.deps.SQS == nil || g.s.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(g.s.ctx)
	g.mu.Lock()
	g.pollers[e.UUID] = cancel
	g.mu.Unlock()
	workers := 1
	if e.MaxConcurrency > 0 {
		workers = min(e.MaxConcurrency, 5)
	}
	for range workers {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.poll(ctx, e)
		}()
	}
}

func (g *esmEngine) stop(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.pollers[id]; c != nil {
		c()
		delete(g.pollers, id)
	}
}

// esmIdle is how long a poller waits (server clock) after an empty receive.
const esmIdle = time.Second

func (g *esmEngine) poll(ctx context.Context, e esmRecord) {
	s := g.s
	clk := s.deps.Clock
	var matcher *pattern.Matcher
	if len(e.Filters) > 0 {
		matcher = pattern.NewMatcher()
		for i, f := range e.Filters {
			if err := matcher.Add(strconv.Itoa(i), []byte(f)); err != nil {
				s.log.Warn("lambda: bad filter", "esm", e.UUID, "err", err)
			}
		}
	}
	for ctx.Err() == nil {
		visibility := 30 * time.Second
		if attrs, err := s.deps.SQS.QueueAttributesInternal(ctx, e.Source); err == nil {
			if v, err := strconv.Atoi(attrs["VisibilityTimeout"]); err == nil {
				visibility = time.Duration(v) * time.Second
			}
		}
		var batch []SQSMessage
		deadline := clk.Now().Add(time.Duration(e.Window) * time.Second)
		for len(batch) < e.BatchSize && ctx.Err() == nil {
			msgs, err := s.deps.SQS.ReceiveInternal(ctx, e.Source, min(10, e.BatchSize-len(batch)), visibility)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Debug("lambda: esm receive", "esm", e.UUID, "err", err)
				}
				break
			}
			batch = append(batch, msgs...)
			if len(msgs) == 0 && (len(batch) > 0 && !clk.Now().Before(deadline) || len(batch) == 0 && e.Window == 0) {
				break
			}
			if len(msgs) == 0 {
				select {
				case <-ctx.Done():
				case <-clk.After(ctx, min(esmIdle, max(time.Millisecond, deadline.Sub(clk.Now())))):
				}
				if len(batch) > 0 && !clk.Now().Before(deadline) {
					break
				}
				if len(batch) == 0 && !clk.Now().Before(deadline) {
					break
				}
			}
		}
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
			case <-clk.After(ctx, esmIdle):
			}
			continue
		}
		g.handle(ctx, e, matcher, batch)
	}
}

// sqsRecord renders a message as the SQS event record Lambda sends.
func sqsRecord(e esmRecord, m SQSMessage) map[string]any {
	attrs := map[string]string{}
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	mattrs := map[string]any{}
	for k, v := range m.MessageAttributes {
		a := map[string]any{"dataType": v.DataType, "stringListValues": []string{}, "binaryListValues": []string{}}
		if v.StringValue != "" {
			a["stringValue"] = v.StringValue
		}
		mattrs[k] = a
	}
	rec := map[string]any{
		"messageId": m.MessageID, "receiptHandle": m.ReceiptHandle, "body": m.Body,
		"attributes": attrs, "messageAttributes": mattrs, "md5OfBody": m.MD5OfBody,
		"eventSource": "aws:sqs", "eventSourceARN": e.Source, "awsRegion": e.Region,
	}
	if m.MD5OfMessageAttributes != "" {
		rec["md5OfMessageAttributes"] = m.MD5OfMessageAttributes
	}
	return rec
}

// filterView is the record as filters see it: a JSON body is matched as
// JSON, anything else as a string.
func filterView(rec map[string]any, body string) []byte {
	v := map[string]any{}
	for k, x := range rec {
		v[k] = x
	}
	if json.Valid([]byte(body)) {
		v["body"] = json.RawMessage(body)
	}
	b, _ := json.Marshal(v)
	return b
}

func (g *esmEngine) handle(ctx context.Context, e esmRecord, matcher *pattern.Matcher, batch []SQSMessage) {
	s := g.s
	var records []map[string]any
	var kept []SQSMessage
	for _, m := range batch {
		rec := sqsRecord(e, m)
		if matcher != nil {
			ids, err := matcher.Match(filterView(rec, m.Body))
			if err != nil || len(ids) == 0 {
				// Lambda deletes SQS messages that match no filter.
				_ = s.deps.SQS.DeleteInternal(ctx, e.Source, m.ReceiptHandle)
				continue
			}
		}
		records = append(records, rec)
		kept = append(kept, m)
	}
	if len(records) == 0 {
		return
	}
	payload, _ := json.Marshal(map[string]any{"Records": records})
	ref, err := refFromARN(e.FunctionArn)
	if err != nil {
		return
	}
	res, err := s.resolveHot(ctx, ref)
	if err != nil {
		return // messages become visible again and follow the queue's redrive policy
	}
	if err := s.pickVersion(ctx, &res); err != nil {
		return
	}
	out, err := s.run(ctx, res, payload, invokeOpts{requestID: s.deps.IDs.UUID()})
	if err != nil || out.FunctionError != "" {
		// The whole batch returns to the queue after its visibility timeout.
		return
	}
	failed := map[string]bool{}
	if slices.Contains(e.ResponseTypes, "ReportBatchItemFailures") {
		var resp struct {
			BatchItemFailures []struct {
				ItemIdentifier *string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if json.Unmarshal(out.Payload, &resp) == nil {
			for _, f := range resp.BatchItemFailures {
				if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
					return // an invalid report fails the whole batch
				}
				failed[*f.ItemIdentifier] = true
			}
		}
	}
	for _, m := range kept {
		if failed[m.MessageID] {
			continue
		}
		if err := s.deps.SQS.DeleteInternal(ctx, e.Source, m.ReceiptHandle); err != nil {
			s.log.Debug("lambda: esm delete", "esm", e.UUID, "err", err)
		}
	}
}
