// Package trail is Fogbank's activity trail: a CloudTrail-format record of
// every authenticated API call, stored per account and region in a durable
// log and handed to subscribers (the EventBridge service puts each one on
// the account's default bus). Records are written in small batches shortly
// after the call, as CloudTrail itself delivers asynchronously.
package trail

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes temporary credentials.
type SessionContext struct {
	SessionIssuer *SessionIssuer `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttrs   `json:"attributes"`
}

// SessionIssuer is the role behind assumed-role credentials.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttrs are the session's attributes.
type SessionAttrs struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// Resource is one entry of a record's resources.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Record is one CloudTrail event (the JSON document CloudTrail delivers).
type Record struct {
	EventVersion       string       `json:"eventVersion"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	EventTime          string       `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	SourceIPAddress    string       `json:"sourceIPAddress"`
	UserAgent          string       `json:"userAgent"`
	ErrorCode          string       `json:"errorCode,omitempty"`
	ErrorMessage       string       `json:"errorMessage,omitempty"`
	RequestParameters  any          `json:"requestParameters"`
	ResponseElements   any          `json:"responseElements"`
	RequestID          string       `json:"requestID"`
	EventID            string       `json:"eventID"`
	ReadOnly           bool         `json:"readOnly"`
	Resources          []Resource   `json:"resources,omitempty"`
	EventType          string       `json:"eventType"`
	ManagementEvent    bool         `json:"managementEvent"`
	RecipientAccountID string       `json:"recipientAccountId"`
	EventCategory      string       `json:"eventCategory"`

	// Time is EventTime parsed; not serialised.
	Time time.Time `json:"-"`
}

// lingerTime is how long the writer waits for more records before an
// append: records reach storage and subscribers within this much of the call.
const lingerTime = 5 * time.Millisecond

// Subscriber receives every stored record. It must not block for long.
type Subscriber func(ctx context.Context, rec Record, raw []byte)

// Stream returns the log stream name of an account and region.
func Stream(account, region string) string { return storage.Key("trail", account, region) }

// Trail records calls. It is safe for concurrent use.
type Trail struct {
	logs   storage.Logs
	ids    *ids.Generator
	logger *slog.Logger

	ch   chan Record
	done chan struct{}

	mu   sync.RWMutex
	subs []Subscriber
	// flushWaiters get a signal after the writer drains what was queued.
	flushReq chan chan struct{}
}

// New returns a trail writing to logs. Start must be called to run its writer.
func New(logs storage.Logs, gen *ids.Generator, logger *slog.Logger) *Trail {
	return &Trail{logs: logs, ids: gen, logger: logger, ch: make(chan Record, 8192), done: make(chan struct{}), flushReq: make(chan chan struct{})}
}

// Subscribe adds a subscriber for records stored from now on.
func (t *Trail) Subscribe(s Subscriber) {
	t.mu.Lock()
	t.subs = append(t.subs, s)
	t.mu.Unlock()
}

// FromCall builds the record of a finished call.
func (t *Trail) FromCall(c *service.Call) Record {
	ui := UserIdentity{Type: c.Identity.Type, PrincipalID: c.Identity.PrincipalID, ARN: c.Identity.ARN, AccountID: c.Identity.AccountID, AccessKeyID: c.Identity.AccessKeyID}
	if c.Identity.SessionToken != "" {
		sc := &SessionContext{Attributes: SessionAttrs{CreationDate: c.Time.UTC().Format(time.RFC3339), MFAAuthenticated: "false"}}
		if c.Identity.SessionIssuerARN != "" {
			acct, name := splitRole(c.Identity.SessionIssuerARN)
			pid := c.Identity.PrincipalID
			if i := strings.IndexByte(pid, ':'); i >= 0 {
				pid = pid[:i]
			}
			sc.SessionIssuer = &SessionIssuer{Type: "Role", PrincipalID: pid, ARN: c.Identity.SessionIssuerARN, AccountID: acct, UserName: name}
		}
		ui.SessionContext = sc
	}
	rec := Record{
		EventVersion:       "1.09",
		UserIdentity:       ui,
		EventTime:          c.Time.UTC().Format("2006-01-02T15:04:05Z"),
		EventSource:        c.Service + ".amazonaws.com",
		EventName:          c.Operation,
		AWSRegion:          c.Region,
		SourceIPAddress:    c.SourceIP,
		UserAgent:          c.UserAgent,
		ErrorCode:          c.ErrorCode,
		ErrorMessage:       c.ErrorMessage,
		RequestParameters:  c.RequestParameters,
		ResponseElements:   c.ResponseElements,
		RequestID:          c.RequestID,
		EventID:            t.ids.UUID(),
		ReadOnly:           c.ReadOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: c.Account,
		EventCategory:      "Management",
		Time:               c.Time.UTC(),
	}
	for _, r := range c.Resources {
		rec.Resources = append(rec.Resources, Resource{ARN: r.Name, AccountID: c.Account, Type: r.Type})
	}
	return rec
}

func splitRole(arn string) (acct, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	acct = parts[4]
	name = parts[5]
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return acct, name
}

// Record queues a call's record for writing. It never blocks the request:
// if the writer is hopelessly behind the record is dropped and logged.
func (t *Trail) Record(c *service.Call) {
	rec := t.FromCall(c)
	select {
	case t.ch <- rec:
	default:
		t.logger.Warn("trail: queue full, record dropped", "event", rec.EventName, "request_id", rec.RequestID)
	}
}

// Start runs the writer until Close.
func (t *Trail) Start() {
	go t.run()
}

func (t *Trail) run() {
	defer close(t.done)
	ctx := context.Background()
	batch := make([]Record, 0, 256)
	for {
		var waiter chan struct{}
		select {
		case rec, ok := <-t.ch:
			if !ok {
				return
			}
			batch = append(batch, rec)
		case waiter = <-t.flushReq:
		}
		// Linger briefly so that a burst of calls shares one append (one
		// fsync), unless someone waits for a flush.
		if waiter == nil {
			linger := time.NewTimer(lingerTime)
		collect:
			for len(batch) < cap(batch) {
				select {
				case rec, ok := <-t.ch:
					if !ok {
						break collect
					}
					batch = append(batch, rec)
				case waiter = <-t.flushReq:
					break collect
				case <-linger.C:
					break collect
				}
			}
			linger.Stop()
		}
		// Drain what else is queued, without waiting.
	drain:
		for waiter != nil || len(batch) < cap(batch) {
			select {
			case rec, ok := <-t.ch:
				if !ok {
					t.write(ctx, batch)
					if waiter != nil {
						close(waiter)
					}
					return
				}
				batch = append(batch, rec)
			default:
				break drain
			}
		}
		t.write(ctx, batch)
		batch = batch[:0]
		if waiter != nil {
			close(waiter)
		}
	}
}

func (t *Trail) write(ctx context.Context, batch []Record) {
	if len(batch) == 0 {
		return
	}
	byStream := map[string][]int{}
	raws := make([][]byte, len(batch))
	for i, rec := range batch {
		raw, err := json.Marshal(rec)
		if err != nil {
			t.logger.Error("trail: encode record", "err", err)
			continue
		}
		raws[i] = raw
		s := Stream(rec.RecipientAccountID, rec.AWSRegion)
		byStream[s] = append(byStream[s], i)
	}
	for stream, idx := range byStream {
		entries := make([]storage.LogEntry, 0, len(idx))
		for _, i := range idx {
			if raws[i] != nil {
				entries = append(entries, storage.LogEntry{Time: batch[i].Time, Data: raws[i]})
			}
		}
		if _, err := t.logs.Append(ctx, stream, entries); err != nil {
			t.logger.Error("trail: append", "stream", stream, "err", err)
			continue
		}
	}
	t.mu.RLock()
	subs := t.subs
	t.mu.RUnlock()
	for i, rec := range batch {
		if raws[i] == nil {
			continue
		}
		for _, s := range subs {
			s(ctx, rec, raws[i])
		}
	}
}

// Flush waits until every record queued before the call is stored and
// delivered to subscribers.
func (t *Trail) Flush(ctx context.Context) error {
	w := make(chan struct{})
	select {
	case t.flushReq <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.done:
		return nil
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (t *Trail) Close() {
	close(t.ch)
	<-t.done
}

// Query selects records for Lookup.
type Query struct {
	Account, Region string
	Start, End      time.Time // zero: unbounded
	// AttributeKey/Value: one CloudTrail lookup attribute (EventId,
	// EventName, ReadOnly, Username, ResourceType, ResourceName,
	// EventSource, AccessKeyId); empty key: no filter.
	AttributeKey, AttributeValue string
	// Before is the exclusive upper bound on sequence (pagination); 0: none.
	Before int64
	Limit  int
}

// Found is one record found by Lookup, with its sequence for pagination.
type Found struct {
	Seq    int64
	Record Record
	Raw    []byte
}

// Lookup returns matching records newest first; next is the sequence to
// pass as Before for the following page (0: no more).
func (t *Trail) Lookup(ctx context.Context, q Query) (found []Found, next int64, err error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	before := q.Before
	for len(found) < q.Limit {
		recs, err := t.logs.Read(ctx, Stream(q.Account, q.Region), storage.LogQuery{From: q.Start, To: q.End, Before: before, Limit: 500, Desc: true})
		if err != nil {
			return nil, 0, fmt.Errorf("trail: lookup: %w", err)
		}
		for _, lr := range recs {
			before = lr.Seq
			var rec Record
			if err := json.Unmarshal(lr.Data, &rec); err != nil {
				continue
			}
			if !matches(rec, q.AttributeKey, q.AttributeValue) {
				continue
			}
			found = append(found, Found{Seq: lr.Seq, Record: rec, Raw: lr.Data})
			if len(found) == q.Limit {
				return found, lr.Seq, nil
			}
		}
		if len(recs) < 500 {
			return found, 0, nil
		}
	}
	return found, 0, nil
}

// Username returns the userName CloudTrail shows for the record.
func Username(r Record) string {
	switch r.UserIdentity.Type {
	case "Root":
		return "root"
	case "AssumedRole":
		if i := strings.LastIndexByte(r.UserIdentity.ARN, '/'); i >= 0 {
			return r.UserIdentity.ARN[i+1:]
		}
	case "IAMUser":
		if i := strings.LastIndexByte(r.UserIdentity.ARN, '/'); i >= 0 {
			return r.UserIdentity.ARN[i+1:]
		}
	}
	return ""
}

func matches(r Record, key, val string) bool {
	switch key {
	case "":
		return true
	case "EventId":
		return r.EventID == val
	case "EventName":
		return r.EventName == val
	case "ReadOnly":
		return strings.EqualFold(fmt.Sprint(r.ReadOnly), val)
	case "Username":
		return Username(r) == val
	case "EventSource":
		return r.EventSource == val
	case "AccessKeyId":
		return r.UserIdentity.AccessKeyID == val
	case "ResourceName":
		for _, res := range r.Resources {
			if res.ARN == val {
				return true
			}
		}
	case "ResourceType":
		for _, res := range r.Resources {
			if res.Type == val {
				return true
			}
		}
	}
	return false
}

// Streams lists account/region pairs that have trail records (sorted).
func (t *Trail) Streams(ctx context.Context) ([]string, error) {
	s, err := t.logs.Streams(ctx, "trail/")
	sort.Strings(s)
	return s, err
}
