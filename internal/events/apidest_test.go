package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

// recorder is an httptest endpoint that records requests and answers with
// the status its policy gives.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	status func(n int, r *http.Request, body string) int
	tokens int // OAuth tokens issued
	srv    *httptest.Server
}

type recorded struct {
	at     time.Time
	method string
	path   string
	query  string
	header http.Header
	body   string
}

func newRecorder(t *testing.T, status func(n int, r *http.Request, body string) int) *recorder {
	rc := &recorder{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if r.URL.Path == "/token" {
			user, pass, _ := r.BasicAuth()
			if user != "cid" || pass != "csecret" || form(body).Get("grant_type") != "client_credentials" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			rc.tokens++
			json.NewEncoder(w).Encode(map[string]any{"access_token": "tok" + string(rune('0'+rc.tokens)), "expires_in": 3600, "token_type": "Bearer"})
			return
		}
		if r.URL.Path == "/badtoken" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rc.reqs = append(rc.reqs, recorded{time.Now(), r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		code := http.StatusOK
		if rc.status != nil {
			code = rc.status(len(rc.reqs), r, string(body))
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func form(body []byte) url.Values {
	v, _ := url.ParseQuery(string(body))
	return v
}

func (rc *recorder) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

func (rc *recorder) wait(t *testing.T, n int) []recorded {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() bool { return len(rc.requests()) >= n }, "%d requests at the endpoint", n)
	return rc.requests()
}

func connection(t *testing.T, a acct, name string, authType types.ConnectionAuthorizationType, auth *types.CreateConnectionAuthRequestParameters) string {
	t.Helper()
	out := check(a.eb.CreateConnection(context.Background(), &eventbridge.CreateConnectionInput{Name: aws.String(name), AuthorizationType: authType, AuthParameters: auth}))(t)
	return aws.ToString(out.ConnectionArn)
}

func destination(t *testing.T, a acct, name, connArn, endpoint string, method types.ApiDestinationHttpMethod, rate int32) string {
	t.Helper()
	in := &eventbridge.CreateApiDestinationInput{Name: aws.String(name), ConnectionArn: aws.String(connArn), InvocationEndpoint: aws.String(endpoint), HttpMethod: method}
	if rate > 0 {
		in.InvocationRateLimitPerSecond = aws.Int32(rate)
	}
	out := check(a.eb.CreateApiDestination(context.Background(), in))(t)
	return aws.ToString(out.ApiDestinationArn)
}

func waitConnState(t *testing.T, a acct, name string, want types.ConnectionState) *eventbridge.DescribeConnectionOutput {
	t.Helper()
	var out *eventbridge.DescribeConnectionOutput
	testenv.Eventually(t, 10*time.Second, func() bool {
		out = check(a.eb.DescribeConnection(context.Background(), &eventbridge.DescribeConnectionInput{Name: aws.String(name)}))(t)
		return out.ConnectionState == want
	}, "connection %s in state %s", name, want)
	return out
}

func TestSDKConnectionsAndAPIDestinationsCRUD(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	ctx := context.Background()

	_, err := a.eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("This should fail with two errors 123467890123412341234123412341234"), AuthorizationType: "INVALID", AuthParameters: &types.CreateConnectionAuthRequestParameters{}})
	apiErr(t, err, "ValidationException", `3 validation errors detected: Value 'This should fail with two errors 123467890123412341234123412341234' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+; Value 'This should fail with two errors 123467890123412341234123412341234' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; Value 'INVALID' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]`)

	connArn := connection(t, a, "basic", types.ConnectionAuthorizationTypeBasic, &types.CreateConnectionAuthRequestParameters{
		BasicAuthParameters:      &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("user"), Password: aws.String("hunter2-secret")},
		InvocationHttpParameters: &types.ConnectionHttpParameters{},
	})
	if !strings.HasPrefix(connArn, "arn:aws:events:us-east-1:"+a.id+":connection/basic/") {
		t.Fatalf("ConnectionArn = %s", connArn)
	}
	_, err = a.eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("basic"), AuthorizationType: types.ConnectionAuthorizationTypeBasic, AuthParameters: &types.CreateConnectionAuthRequestParameters{BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("u"), Password: aws.String("p")}}})
	apiErr(t, err, "ResourceAlreadyExistsException", "")
	d := check(a.eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic")}))(t)
	if d.ConnectionState != types.ConnectionStateAuthorized || aws.ToString(d.AuthParameters.BasicAuthParameters.Username) != "user" ||
		d.AuthParameters.InvocationHttpParameters == nil || !strings.HasPrefix(aws.ToString(d.SecretArn), "arn:aws:secretsmanager:us-east-1:"+a.id+":secret:events!connection/basic/") ||
		d.LastAuthorizedTime == nil {
		t.Fatalf("DescribeConnection = %+v", d)
	}
	// The password is encrypted at rest: not in the stored record.
	recs, err := env.Server.Backend().Meta().List(ctx, "events.connections", "", "", 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("stored connections: %d, %v", len(recs), err)
	}
	if strings.Contains(string(recs[0].Value), "hunter2") {
		t.Fatalf("password stored in clear: %s", recs[0].Value)
	}

	lc := check(a.eb.ListConnections(ctx, &eventbridge.ListConnectionsInput{}))(t)
	if len(lc.Connections) != 1 || aws.ToString(lc.Connections[0].Name) != "basic" || lc.Connections[0].AuthorizationType != types.ConnectionAuthorizationTypeBasic {
		t.Fatalf("ListConnections = %+v", lc.Connections)
	}
	up := check(a.eb.UpdateConnection(ctx, &eventbridge.UpdateConnectionInput{Name: aws.String("basic"), AuthParameters: &types.UpdateConnectionAuthRequestParameters{BasicAuthParameters: &types.UpdateConnectionBasicAuthRequestParameters{Username: aws.String("new_user"), Password: aws.String("new_pass")}}}))(t)
	if up.ConnectionState != types.ConnectionStateAuthorized {
		t.Fatalf("UpdateConnection state %s", up.ConnectionState)
	}
	d = check(a.eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic")}))(t)
	if aws.ToString(d.AuthParameters.BasicAuthParameters.Username) != "new_user" {
		t.Fatalf("after update: %+v", d.AuthParameters.BasicAuthParameters)
	}

	// API destinations.
	_, err = a.eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: aws.String("invalid-connection-arn"), InvocationEndpoint: aws.String("https://example.com/api"), HttpMethod: "INVALID_METHOD"})
	apiErr(t, err, "ValidationException", `2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]`)
	_, err = a.eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("Invalid Name With Spaces!"), ConnectionArn: aws.String(connArn), InvocationEndpoint: aws.String("https://example.com/api"), HttpMethod: "POST"})
	apiErr(t, err, "ValidationException", `1 validation error detected: Value 'Invalid Name With Spaces!' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`)
	check(a.eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("dest"), Description: aws.String("Test API destination"), ConnectionArn: aws.String(connArn), InvocationEndpoint: aws.String("https://example.com/api"), HttpMethod: "POST"}))(t)
	dd := check(a.eb.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest")}))(t)
	if dd.ApiDestinationState != types.ApiDestinationStateActive || aws.ToInt32(dd.InvocationRateLimitPerSecond) != 300 || aws.ToString(dd.Description) != "Test API destination" || aws.ToString(dd.ConnectionArn) != connArn {
		t.Fatalf("DescribeApiDestination = %+v", dd)
	}
	check(a.eb.UpdateApiDestination(ctx, &eventbridge.UpdateApiDestinationInput{Name: aws.String("dest"), Description: aws.String("Updated API destination"), InvocationEndpoint: aws.String("https://example.com/api/v2"), HttpMethod: "PUT"}))(t)
	ld := check(a.eb.ListApiDestinations(ctx, &eventbridge.ListApiDestinationsInput{}))(t)
	if len(ld.ApiDestinations) != 1 || ld.ApiDestinations[0].HttpMethod != "PUT" || aws.ToString(ld.ApiDestinations[0].InvocationEndpoint) != "https://example.com/api/v2" {
		t.Fatalf("ListApiDestinations = %+v", ld.ApiDestinations)
	}

	// Deauthorize: parameters removed, destination inactive.
	da := check(a.eb.DeauthorizeConnection(ctx, &eventbridge.DeauthorizeConnectionInput{Name: aws.String("basic")}))(t)
	if da.ConnectionState != types.ConnectionStateDeauthorizing {
		t.Fatalf("DeauthorizeConnection state %s", da.ConnectionState)
	}
	d = waitConnState(t, a, "basic", types.ConnectionStateDeauthorized)
	if d.AuthParameters != nil {
		t.Fatalf("deauthorized connection still has parameters: %+v", d.AuthParameters)
	}
	dd = check(a.eb.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest")}))(t)
	if dd.ApiDestinationState != types.ApiDestinationStateInactive {
		t.Fatalf("destination of a deauthorized connection is %s", dd.ApiDestinationState)
	}

	check(a.eb.DeleteApiDestination(ctx, &eventbridge.DeleteApiDestinationInput{Name: aws.String("dest")}))(t)
	_, err = a.eb.DescribeApiDestination(ctx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("dest")})
	apiErr(t, err, "ResourceNotFoundException", "Failed to describe the api-destination(s). An api-destination 'dest' does not exist.")
	del := check(a.eb.DeleteConnection(ctx, &eventbridge.DeleteConnectionInput{Name: aws.String("basic")}))(t)
	if del.ConnectionState != types.ConnectionStateDeleting {
		t.Fatalf("DeleteConnection state %s", del.ConnectionState)
	}
	_, err = a.eb.DescribeConnection(ctx, &eventbridge.DescribeConnectionInput{Name: aws.String("basic")})
	apiErr(t, err, "ResourceNotFoundException", "Failed to describe the connection(s). Connection 'basic' does not exist.")
}

func TestE2EAPIDestinationAuthTypes(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	// The endpoint refuses the first OAuth-authorized request with 401 to
	// check that the token is refreshed.
	rc := newRecorder(t, func(n int, r *http.Request, body string) int {
		if r.Header.Get("Authorization") == "Bearer tok1" && body == `{"round": 2}` {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	})
	basic := connection(t, a, "basic", types.ConnectionAuthorizationTypeBasic, &types.CreateConnectionAuthRequestParameters{
		BasicAuthParameters: &types.CreateConnectionBasicAuthRequestParameters{Username: aws.String("user"), Password: aws.String("pass")},
		InvocationHttpParameters: &types.ConnectionHttpParameters{
			HeaderParameters:      []types.ConnectionHeaderParameter{{Key: aws.String("X-Conn"), Value: aws.String("c1"), IsValueSecret: true}},
			QueryStringParameters: []types.ConnectionQueryStringParameter{{Key: aws.String("cq"), Value: aws.String("1")}},
			BodyParameters:        []types.ConnectionBodyParameter{{Key: aws.String("extra"), Value: aws.String("added")}},
		},
	})
	apikey := connection(t, a, "apikey", types.ConnectionAuthorizationTypeApiKey, &types.CreateConnectionAuthRequestParameters{
		ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k-123")},
	})
	oauth := connection(t, a, "oauth", types.ConnectionAuthorizationTypeOauthClientCredentials, &types.CreateConnectionAuthRequestParameters{
		OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(rc.srv.URL + "/token"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters:    &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("csecret")},
			OAuthHttpParameters: &types.ConnectionHttpParameters{BodyParameters: []types.ConnectionBodyParameter{{Key: aws.String("grant_type"), Value: aws.String("client_credentials")}}},
		},
	})
	d := waitConnState(t, a, "oauth", types.ConnectionStateAuthorized)
	if d.AuthParameters.OAuthParameters.ClientParameters == nil || aws.ToString(d.AuthParameters.OAuthParameters.ClientParameters.ClientID) != "cid" {
		t.Fatalf("oauth connection: %+v", d.AuthParameters.OAuthParameters)
	}
	dBasic := destination(t, a, "basic", basic, rc.srv.URL+"/orders/*/items/*", types.ApiDestinationHttpMethodPost, 0)
	dKey := destination(t, a, "apikey", apikey, rc.srv.URL+"/key", types.ApiDestinationHttpMethodPut, 0)
	dOAuth := destination(t, a, "oauth", oauth, rc.srv.URL+"/oauth", types.ApiDestinationHttpMethodPost, 0)
	a.rule(t, "", "r-basic", `{"source":["app"],"detail-type":["basic"]}`, types.Target{Id: aws.String("b"), Arn: aws.String(dBasic), HttpParameters: &types.HttpParameters{
		PathParameterValues: []string{"o-1", "i 2"}, HeaderParameters: map[string]string{"X-Target": "t1"}, QueryStringParameters: map[string]string{"tq": "v"}}})
	a.rule(t, "", "r-key", `{"source":["app"],"detail-type":["key"]}`, types.Target{Id: aws.String("k"), Arn: aws.String(dKey), InputPath: aws.String("$.detail")})
	a.rule(t, "", "r-oauth", `{"source":["app"],"detail-type":["oauth"]}`, types.Target{Id: aws.String("o"), Arn: aws.String(dOAuth),
		InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"r": "$.detail.round"}, InputTemplate: aws.String(`{"round": <r>}`)}})

	a.put(t, entry("", "app", "basic", `{"n":1}`), entry("", "app", "key", `{"n":2}`))
	reqs := rc.wait(t, 2)
	byPath := map[string]recorded{}
	for _, r := range reqs {
		byPath[r.path] = r
	}
	b := byPath["/orders/o-1/items/i 2"]
	if b.method != "POST" || b.header.Get("Authorization") != "Basic dXNlcjpwYXNz" || b.header.Get("X-Conn") != "c1" || b.header.Get("X-Target") != "t1" ||
		b.query != "cq=1&tq=v" || b.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("basic request: %+v", b)
	}
	if !strings.HasPrefix(b.body, `{"version":"0",`) || !strings.HasSuffix(b.body, `"detail":{"n":1},"extra":"added"}`) {
		t.Errorf("basic body: %s", b.body)
	}
	k := byPath["/key"]
	if k.method != "PUT" || k.header.Get("X-Api-Key") != "k-123" || k.body != `{"n":2}` {
		t.Errorf("api key request: %+v", k)
	}

	// OAuth: the token is fetched once and reused; a 401 refreshes it.
	a.put(t, entry("", "app", "oauth", `{"round":1}`))
	rc.wait(t, 3)
	a.put(t, entry("", "app", "oauth", `{"round":2}`))
	reqs = rc.wait(t, 5) // refused with tok1, retried with tok2
	var auths []string
	for _, r := range reqs[2:] {
		auths = append(auths, r.header.Get("Authorization")+" "+r.body)
	}
	want := []string{`Bearer tok1 {"round": 1}`, `Bearer tok1 {"round": 2}`, `Bearer tok2 {"round": 2}`}
	if strings.Join(auths, "|") != strings.Join(want, "|") {
		t.Fatalf("oauth requests:\n got %q\nwant %q", auths, want)
	}
	rc.mu.Lock()
	tokens := rc.tokens
	rc.mu.Unlock()
	if tokens != 2 {
		t.Errorf("tokens fetched = %d, want 2 (one initial, one refresh)", tokens)
	}
}

func TestE2EAPIDestinationRateLimit(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	rc := newRecorder(t, nil)
	conn := connection(t, a, "c", types.ConnectionAuthorizationTypeApiKey, &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("K"), ApiKeyValue: aws.String("v")}})
	dest := destination(t, a, "slow", conn, rc.srv.URL+"/slow", types.ApiDestinationHttpMethodPost, 4)
	a.rule(t, "", "r", `{"source":["app"]}`, target("d", dest))
	var entries []types.PutEventsRequestEntry
	for range 10 {
		entries = append(entries, entry("", "app", "x", `{}`))
	}
	a.put(t, entries...)
	a.put(t, entries[:2]...)
	reqs := rc.wait(t, 12)
	// 4 per second with a burst of 4: the 12th request cannot start before 2 s.
	span := reqs[len(reqs)-1].at.Sub(reqs[0].at)
	if span < 1800*time.Millisecond {
		t.Fatalf("12 requests at 4/s took %v, want ≥ 2 s", span)
	}
	// Arrival times trail the limiter's booked start times by the dispatch
	// jitter (up to ~200 ms under the race detector on a loaded machine).
	minGap := 900 * time.Millisecond
	if raceEnabled {
		minGap = 700 * time.Millisecond
	}
	for i := 4; i < len(reqs); i++ {
		if d := reqs[i].at.Sub(reqs[i-4].at); d < minGap {
			t.Errorf("requests %d and %d only %v apart: more than 4 in a second", i-4, i, d)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 12 {
		t.Fatalf("%d requests, want 12", n)
	}
}

func TestE2ERetriesThenDLQ(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	rc := newRecorder(t, func(n int, r *http.Request, body string) int {
		if r.URL.Path == "/bad" {
			return http.StatusBadRequest
		}
		return http.StatusServiceUnavailable
	})
	dlqURL, dlqArn := a.queue(t, "dlq", nil)
	conn := connection(t, a, "c", types.ConnectionAuthorizationTypeApiKey, &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("K"), ApiKeyValue: aws.String("v")}})
	down := destination(t, a, "down", conn, rc.srv.URL+"/down", types.ApiDestinationHttpMethodPost, 0)
	bad := destination(t, a, "bad", conn, rc.srv.URL+"/bad", types.ApiDestinationHttpMethodPost, 0)
	ruleArn := a.rule(t, "", "r", `{"source":["app"]}`,
		types.Target{Id: aws.String("down"), Arn: aws.String(down), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)},
			RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(3600)}},
		types.Target{Id: aws.String("bad"), Arn: aws.String(bad), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}})
	ids := a.put(t, entry("", "app", "x", `{"n":1}`))

	// A 400 is final: straight to the DLQ. A 503 is retried on the
	// injected clock; advance it past each back-off.
	var msgs []map[string]string
	deadline := time.Now().Add(20 * time.Second)
	for len(msgs) < 2 && time.Now().Before(deadline) {
		env.Server.Clock().Advance(30 * time.Second)
		out := a.receiveNow(t, dlqURL)
		for _, m := range out {
			attrs := map[string]string{"body": aws.ToString(m.Body)}
			for k, v := range m.MessageAttributes {
				attrs[k] = aws.ToString(v.StringValue)
			}
			msgs = append(msgs, attrs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d DLQ messages, want 2", len(msgs))
	}
	byTarget := map[string]map[string]string{}
	for _, m := range msgs {
		byTarget[m["TARGET_ARN"]] = m
		if ev := decodeEvent(t, m["body"]); ev.ID != ids[0] || m["RULE_ARN"] != ruleArn {
			t.Errorf("DLQ message: %v", m)
		}
	}
	if m := byTarget[down]; m["ERROR_CODE"] != "SDK_CLIENT_ERROR" || m["EXHAUSTED_RETRY_CONDITION"] != "MaximumRetryAttempts" || m["RETRY_ATTEMPTS"] != "3" || !strings.Contains(m["ERROR_MESSAGE"], "503") {
		t.Errorf("retried target's DLQ attributes: %v", m)
	}
	if m := byTarget[bad]; m["ERROR_CODE"] != "SDK_CLIENT_ERROR" || m["EXHAUSTED_RETRY_CONDITION"] != "" || !strings.Contains(m["ERROR_MESSAGE"], "400") {
		t.Errorf("final failure's DLQ attributes: %v", m)
	}
	n := map[string]int{}
	for _, r := range rc.requests() {
		n[r.path]++
	}
	if n["/down"] != 4 || n["/bad"] != 1 {
		t.Fatalf("requests %v, want /down 4 (1 + 3 retries), /bad 1", n)
	}
}

func TestE2EOAuthFailureDeauthorizes(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	rc := newRecorder(t, nil)
	url, arn := a.queue(t, "conn-events", nil)
	a.rule(t, "", "conn-state", `{"source":["aws.events"],"detail-type":["Connection Deauthorized"]}`, target("q", arn))
	connArn := connection(t, a, "broken", types.ConnectionAuthorizationTypeOauthClientCredentials, &types.CreateConnectionAuthRequestParameters{
		OAuthParameters: &types.CreateConnectionOAuthRequestParameters{
			AuthorizationEndpoint: aws.String(rc.srv.URL + "/badtoken"), HttpMethod: types.ConnectionOAuthHttpMethodPost,
			ClientParameters: &types.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("csecret")},
		},
	})
	d := waitConnState(t, a, "broken", types.ConnectionStateDeauthorized)
	if !strings.Contains(aws.ToString(d.StateReason), "500") {
		t.Errorf("StateReason = %q", aws.ToString(d.StateReason))
	}
	msgs := a.receive(t, url, 1, 10*time.Second)
	ev := decodeEvent(t, aws.ToString(msgs[0].Body))
	if ev.Source != "aws.events" || len(ev.Resources) != 1 || ev.Resources[0] != connArn {
		t.Fatalf("connection event: %s", aws.ToString(msgs[0].Body))
	}
}
