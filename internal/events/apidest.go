package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

const nsAPIDestinations = "events.apidestinations"

// API destination limits and AWS's defaults.
const (
	defaultRateLimit = 300
	// maxThrottleWait is the longest a delivery waits in place for its API
	// destination's rate limit; beyond it the task is put back, delayed,
	// without counting an attempt.
	maxThrottleWait = 2 * time.Second
)

const connectionARNRE = `^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$`

var connectionARNPattern = regexp.MustCompile(connectionARNRE)

var httpMethods = []string{"HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"}

// APIDestination is a stored API destination.
type APIDestination struct {
	Name          string    `json:"name"`
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	ID            string    `json:"id"`
	Description   string    `json:"description,omitempty"`
	ConnectionArn string    `json:"connectionArn"`
	Endpoint      string    `json:"endpoint"`
	Method        string    `json:"method"`
	Rate          int       `json:"rate"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
}

// ARN returns the API destination ARN.
func (d *APIDestination) ARN() string {
	return fmt.Sprintf("arn:aws:events:%s:%s:api-destination/%s/%s", d.Region, d.Account, d.Name, d.ID)
}

func errAPIDestinationNotFound(name string) *protocol.Error {
	return errNotFound("Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name)
}

func (s *Service) getAPIDestination(ctx context.Context, account, region, name string) (*APIDestination, int64, error) {
	return getRecord[APIDestination](ctx, s, nsAPIDestinations, regionKey(account, region, name), func() error {
		return errAPIDestinationNotFound(name)
	})
}

func (s *Service) putAPIDestination(ctx context.Context, d *APIDestination, expect int64) error {
	return s.putRecord(ctx, nsAPIDestinations, regionKey(d.Account, d.Region, d.Name), d, expect, func() error {
		return errExists("An api-destination '%s' already exists.", d.Name)
	})
}

// state is ACTIVE while the destination's connection is authorized.
func (s *Service) apiDestinationState(ctx context.Context, d *APIDestination) string {
	c, _, err := s.connectionByARN(ctx, d.ConnectionArn)
	if err != nil || c.State != connAuthorized {
		return "INACTIVE"
	}
	return "ACTIVE"
}

type apiDestinationInput struct {
	Name                         string
	Description                  *string
	ConnectionArn                string
	InvocationEndpoint           string
	HttpMethod                   string
	InvocationRateLimitPerSecond *int
}

func validateAPIDestination(in *apiDestinationInput, creating bool) error {
	var v validationErrors
	v.pattern(in.Name, "name", nameRE, nameOK(in.Name))
	v.maxLen(in.Name, "name", 64)
	if creating || in.ConnectionArn != "" {
		v.pattern(in.ConnectionArn, "connectionArn", connectionARNRE, connectionARNPattern.MatchString(in.ConnectionArn))
	}
	if creating || in.HttpMethod != "" {
		v.enum(in.HttpMethod, "httpMethod", httpMethods...)
	}
	if r := in.InvocationRateLimitPerSecond; r != nil && *r < 1 {
		v.add("Value '%d' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1", *r)
	}
	if err := v.err(); err != nil {
		return err
	}
	if creating || in.InvocationEndpoint != "" {
		u, err := url.Parse(in.InvocationEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errValidation("Parameter InvocationEndpoint is not valid.")
		}
	}
	return nil
}

type apiDestSummary struct {
	ApiDestinationArn   string                 `json:"ApiDestinationArn"`
	ApiDestinationState string                 `json:"ApiDestinationState"`
	CreationTime        *protocol.EpochSeconds `json:"CreationTime,omitempty"`
	LastModifiedTime    *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
}

func (s *Service) createAPIDestination(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in apiDestinationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validateAPIDestination(&in, true); err != nil {
		return nil, err
	}
	if _, _, err := s.connectionByARN(ctx, in.ConnectionArn); err != nil {
		return nil, err
	}
	now := s.now()
	d := &APIDestination{Name: in.Name, Account: call.Account, Region: call.Region, ID: s.deps.IDs.UUID(),
		ConnectionArn: in.ConnectionArn, Endpoint: in.InvocationEndpoint, Method: in.HttpMethod, Rate: defaultRateLimit, Created: now, Modified: now}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.InvocationRateLimitPerSecond != nil {
		d.Rate = *in.InvocationRateLimitPerSecond
	}
	if err := s.putAPIDestination(ctx, d, storage.MustNotExist); err != nil {
		return nil, err
	}
	call.Resources = append(call.Resources, service.Resource{Type: "AWS::Events::ApiDestination", Name: d.ARN()})
	return apiDestSummary{d.ARN(), s.apiDestinationState(ctx, d), epoch(d.Created), epoch(d.Modified)}, nil
}

type apiDestView struct {
	ApiDestinationArn            string                 `json:"ApiDestinationArn"`
	Name                         string                 `json:"Name"`
	Description                  string                 `json:"Description,omitempty"`
	ApiDestinationState          string                 `json:"ApiDestinationState"`
	ConnectionArn                string                 `json:"ConnectionArn"`
	InvocationEndpoint           string                 `json:"InvocationEndpoint"`
	HttpMethod                   string                 `json:"HttpMethod"`
	InvocationRateLimitPerSecond int                    `json:"InvocationRateLimitPerSecond"`
	CreationTime                 *protocol.EpochSeconds `json:"CreationTime,omitempty"`
	LastModifiedTime             *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
}

func (s *Service) apiDestView(ctx context.Context, d *APIDestination, withDescription bool) apiDestView {
	v := apiDestView{d.ARN(), d.Name, "", s.apiDestinationState(ctx, d), d.ConnectionArn, d.Endpoint, d.Method, d.Rate, epoch(d.Created), epoch(d.Modified)}
	if withDescription {
		v.Description = d.Description
	}
	return v
}

func (s *Service) describeAPIDestination(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, _, err := s.getAPIDestination(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	return s.apiDestView(ctx, d, true), nil
}

type listAPIDestinationsInput struct {
	NamePrefix    string
	ConnectionArn string
	NextToken     string
	Limit         *int
}

func (s *Service) listAPIDestinations(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listAPIDestinationsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := pageParams(in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	recs, err := s.deps.Meta.List(ctx, nsAPIDestinations, regionKey(call.Account, call.Region, in.NamePrefix), "", 0)
	if err != nil {
		return nil, fmt.Errorf("events: list api destinations: %w", err)
	}
	out := struct {
		ApiDestinations []apiDestView `json:"ApiDestinations"`
		NextToken       string        `json:"NextToken,omitempty"`
	}{ApiDestinations: []apiDestView{}}
	for _, rec := range recs {
		var d APIDestination
		if err := json.Unmarshal(rec.Value, &d); err != nil {
			return nil, fmt.Errorf("events: decode api destination: %w", err)
		}
		if (after != "" && d.Name <= after) || (in.ConnectionArn != "" && d.ConnectionArn != in.ConnectionArn) {
			continue
		}
		if limit > 0 && len(out.ApiDestinations) == limit {
			out.NextToken = encodeToken(out.ApiDestinations[limit-1].Name)
			break
		}
		out.ApiDestinations = append(out.ApiDestinations, s.apiDestView(ctx, &d, false))
	}
	return out, nil
}

func (s *Service) updateAPIDestination(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in apiDestinationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validateAPIDestination(&in, false); err != nil {
		return nil, err
	}
	d, ver, err := s.getAPIDestination(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	if in.ConnectionArn != "" {
		if _, _, err := s.connectionByARN(ctx, in.ConnectionArn); err != nil {
			return nil, err
		}
		d.ConnectionArn = in.ConnectionArn
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.InvocationEndpoint != "" {
		d.Endpoint = in.InvocationEndpoint
	}
	if in.HttpMethod != "" {
		d.Method = in.HttpMethod
	}
	if in.InvocationRateLimitPerSecond != nil {
		d.Rate = *in.InvocationRateLimitPerSecond
	}
	d.Modified = s.now()
	if err := s.putAPIDestination(ctx, d, ver); err != nil {
		return nil, err
	}
	return apiDestSummary{d.ARN(), s.apiDestinationState(ctx, d), epoch(d.Created), epoch(d.Modified)}, nil
}

func (s *Service) deleteAPIDestination(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, ver, err := s.getAPIDestination(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Meta.Delete(ctx, nsAPIDestinations, regionKey(d.Account, d.Region, d.Name), ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errConcurrentModification()
		}
		return nil, fmt.Errorf("events: delete api destination: %w", err)
	}
	return struct{}{}, nil
}

// Rate limiting.

// window holds the start times of a destination's last Rate invocations:
// at most Rate invocations start in any one-second window.
type window struct {
	starts []time.Time
	next   int
}

// limiterSet holds one window per API destination.
type limiterSet struct {
	mu sync.Mutex
	m  map[string]*window
}

// reserve books a start time for an invocation at or after now. It returns
// how long the invocation must wait; ok is false (and nothing is booked)
// when that wait would exceed max.
func (l *limiterSet) reserve(key string, rate int, now time.Time, max time.Duration) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*window{}
	}
	w := l.m[key]
	if w == nil || len(w.starts) != rate {
		w = &window{starts: make([]time.Time, rate)}
		l.m[key] = w
	}
	at := now
	if earliest := w.starts[w.next].Add(time.Second); earliest.After(at) {
		at = earliest
	}
	wait = at.Sub(now)
	if wait > max {
		return wait, false
	}
	w.starts[w.next] = at
	w.next = (w.next + 1) % rate
	return wait, true
}

// Delivery.

// apiDestinationByARN loads the API destination an ARN names.
func (s *Service) apiDestinationByARN(ctx context.Context, a arn) (*APIDestination, error) {
	parts := strings.Split(strings.TrimPrefix(a.Resource, "api-destination/"), "/")
	d, _, err := s.getAPIDestination(ctx, a.Account, a.Region, parts[0])
	if err != nil {
		return nil, err
	}
	if len(parts) > 1 && parts[1] != d.ID {
		return nil, errAPIDestinationNotFound(parts[0])
	}
	return d, nil
}

// deliverAPIDestination invokes an API destination target: the connection's
// authorization and parameters, the target's HttpParameters, the
// destination's rate limit, and AWS's retry rules (401, 407, 409, 429 and
// 5xx are retried; other 4xx are final).
func (s *Service) deliverAPIDestination(ctx context.Context, t *task, a arn, input []byte) *deliveryError {
	d, err := s.apiDestinationByARN(ctx, a)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return fatal("NO_RESOURCE", "%s", pe.Message)
		}
		return transient("INTERNAL_ERROR", "%v", err)
	}
	conn, _, err := s.connectionByARN(ctx, d.ConnectionArn)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return fatal("NO_RESOURCE", "%s", pe.Message)
		}
		return transient("INTERNAL_ERROR", "%v", err)
	}
	switch conn.State {
	case connAuthorized:
	case connAuthorizing:
		return transient("SDK_CLIENT_ERROR", "Connection %s is being authorized.", conn.Name)
	default:
		return fatal("NO_PERMISSIONS", "Connection %s is not authorized (%s).", conn.Name, conn.State)
	}
	if wait, ok := s.limiters.reserve(d.ARN(), d.Rate, s.now(), maxThrottleWait); wait > 0 {
		s.m.throttledRules.WithLabelValues(t.RuleARN).Inc()
		if !ok {
			return &deliveryError{code: "THROTTLING", message: "Rate limit of the API destination exceeded.", retryable: true, retryAfter: wait, throttled: true}
		}
		if err := s.deps.Clock.Sleep(ctx, wait); err != nil {
			return transient("THROTTLING", "%v", err)
		}
	}
	params, err := s.open(conn)
	if err != nil {
		return fatal("NO_PERMISSIONS", "%v", err)
	}
	req, derr := s.buildAPIRequest(ctx, t, d, conn, params, input)
	if derr != nil {
		return derr
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		return transient("SDK_CLIENT_ERROR", "Request to %s failed: %v", d.Endpoint, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		return nil
	case code == http.StatusUnauthorized || code == http.StatusProxyAuthRequired:
		if conn.AuthType == authOAuth {
			s.tokens.drop(conn.ARN()) // fetch a fresh token on the next attempt
		} else if c, ver, err := s.connectionByARN(ctx, d.ConnectionArn); err == nil && c.State == connAuthorized {
			s.setConnectionState(ctx, c, ver, connDeauthorized, fmt.Sprintf("Received %d from the invocation endpoint.", code), false)
		}
		return transient("SDK_CLIENT_ERROR", "Received response status [%d] from the invocation endpoint.", code)
	case code == http.StatusTooManyRequests:
		de := transient("THROTTLING", "Received response status [429] from the invocation endpoint.")
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			de.retryAfter = time.Duration(secs) * time.Second
		}
		return de
	case code == http.StatusConflict || code >= 500:
		return transient("SDK_CLIENT_ERROR", "Received response status [%d] from the invocation endpoint.", code)
	}
	return fatal("SDK_CLIENT_ERROR", "Received response status [%d] from the invocation endpoint.", code)
}

// buildAPIRequest assembles the HTTP request of one invocation.
func (s *Service) buildAPIRequest(ctx context.Context, t *task, d *APIDestination, conn *Connection, p *AuthParams, input []byte) (*http.Request, *deliveryError) {
	hp := t.Target.HttpParameters
	endpoint := d.Endpoint
	if n := strings.Count(endpoint, "*"); n > 0 {
		var vals []string
		if hp != nil {
			vals = hp.PathParameterValues
		}
		if len(vals) != n {
			return nil, fatal("INVALID_PARAMETER", "InvocationEndpoint %s has %d path parameters but the target gives %d PathParameterValues.", endpoint, n, len(vals))
		}
		for _, v := range vals {
			endpoint = strings.Replace(endpoint, "*", url.PathEscape(v), 1)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fatal("INVALID_PARAMETER", "InvocationEndpoint %s is not valid.", endpoint)
	}
	q := u.Query()
	headers := http.Header{}
	body := input
	if ip := p.InvocationHttpParameters; ip != nil {
		for _, kv := range ip.QueryStringParameters {
			q.Set(kv.Key, kv.Value)
		}
		for _, kv := range ip.HeaderParameters {
			headers.Set(kv.Key, kv.Value)
		}
		if len(ip.BodyParameters) > 0 {
			body = addBodyParameters(input, ip.BodyParameters)
		}
	}
	if hp != nil {
		for k, v := range hp.QueryStringParameters {
			q.Set(k, v)
		}
		for k, v := range hp.HeaderParameters {
			headers.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	if d.Method != http.MethodGet && d.Method != http.MethodHead {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, d.Method, u.String(), rd)
	if err != nil {
		return nil, fatal("INVALID_PARAMETER", "Request to %s is not valid: %v", endpoint, err)
	}
	req.Header = headers
	req.Header.Set("User-Agent", "Amazon/EventBridge/ApiDestinations")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	switch conn.AuthType {
	case authBasic:
		if b := p.BasicAuthParameters; b != nil {
			req.SetBasicAuth(b.Username, b.Password)
		}
	case authAPIKey:
		if k := p.ApiKeyAuthParameters; k != nil {
			req.Header.Set(k.ApiKeyName, k.ApiKeyValue)
		}
	case authOAuth:
		tok, ok := s.tokens.get(conn.ARN(), s.now())
		if !ok {
			if tok, err = s.fetchToken(ctx, conn); err != nil {
				if c, ver, gerr := s.connectionByARN(ctx, d.ConnectionArn); gerr == nil {
					s.setConnectionState(ctx, c, ver, connDeauthorized, err.Error(), false)
				}
				return nil, fatal("NO_PERMISSIONS", "Failed to obtain an OAuth token for connection %s: %v", conn.Name, err)
			}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

// addBodyParameters appends a connection's body parameters to a JSON
// object body, keeping the event's members in their order. Other bodies
// are sent unchanged.
func addBodyParameters(body []byte, params []ConnParam) []byte {
	t := bytes.TrimSpace(body)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' || !json.Valid(t) {
		return body
	}
	out := append([]byte(nil), t[:len(t)-1]...)
	empty := len(bytes.TrimSpace(t[1:len(t)-1])) == 0
	for _, kv := range params {
		if !empty {
			out = append(out, ',')
		}
		empty = false
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}')
}
