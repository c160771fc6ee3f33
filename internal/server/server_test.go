package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/fogbank/fogbank/internal/testenv"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestGetCallerIdentityDefaultAccount(t *testing.T) {
	env := testenv.Start(t)
	out, err := sts.NewFromConfig(env.Config).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Account); got != "000000000000" {
		t.Errorf("Account = %q, want 000000000000", got)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::000000000000:root" {
		t.Errorf("Arn = %q", got)
	}
	if got := aws.ToString(out.UserId); got != "000000000000" {
		t.Errorf("UserId = %q", got)
	}
}

func TestAuthenticationFailures(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	tests := []struct {
		name, akid, secret, token, want string
	}{
		{"wrong secret", "test", "wrong", "", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", "x", "", "InvalidClientTokenId"},
		{"token for a long-term key", "test", "test", "bogus", "InvalidClientTokenId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sts.NewFromConfig(env.ConfigFor(tc.akid, tc.secret, tc.token)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err == nil {
				t.Fatal("want an error")
			}
			if got := apiCode(t, err); got != tc.want {
				t.Errorf("code = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	// Unsigned request: MissingAuthenticationToken in the query error shape.
	resp, err := http.Post(env.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("unsigned: status %d body %s", resp.StatusCode, body)
	}
}

func TestAssumeRoleActsInRoleAccount(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	env.NewAccount(t, "111111111111")
	out, err := sts.NewFromConfig(env.Config).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::111111111111:role/Auditor"),
		RoleSessionName: aws.String("s1"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::111111111111:assumed-role/Auditor/s1" {
		t.Errorf("AssumedRoleUser.Arn = %q", got)
	}
	c := out.Credentials
	roleCfg := env.ConfigFor(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sts.NewFromConfig(roleCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Account) != "111111111111" || aws.ToString(who.Arn) != "arn:aws:sts::111111111111:assumed-role/Auditor/s1" {
		t.Errorf("caller = %s %s", aws.ToString(who.Account), aws.ToString(who.Arn))
	}
	// Without the session token the key is not valid.
	_, err = sts.NewFromConfig(env.ConfigFor(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if got := apiCode(t, err); got != "InvalidClientTokenId" {
		t.Errorf("no token: code %q", got)
	}
	// After expiry (on the server clock) the credentials are refused.
	env.Server.Clock().Advance(16 * time.Minute)
	_, err = sts.NewFromConfig(roleCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if got := apiCode(t, err); got != "ExpiredToken" {
		t.Errorf("expired: code %q (%v)", got, err)
	}
}

func TestAssumeRoleValidation(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	client := sts.NewFromConfig(env.Config)
	tests := []struct {
		name string
		in   sts.AssumeRoleInput
		want string
	}{
		{"bad session name", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/R"), RoleSessionName: aws.String("a b")}, "ValidationError"},
		{"duration too short", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/R"), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(100)}, "ValidationError"},
		{"unknown account", sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::999999999999:role/R"), RoleSessionName: aws.String("ok")}, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.AssumeRole(ctx, &tc.in)
			if got := apiCode(t, err); got != tc.want {
				t.Errorf("code = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGetSessionToken(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	out, err := sts.NewFromConfig(env.Config).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SessionToken) == "" {
		t.Fatalf("credentials = %+v", c)
	}
	cfg := env.ConfigFor(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Account) != "000000000000" {
		t.Errorf("account = %s", aws.ToString(who.Account))
	}
	_, err = sts.NewFromConfig(cfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if got := apiCode(t, err); got != "AccessDenied" {
		t.Errorf("nested GetSessionToken: %q", got)
	}
}

func TestLookupEvents(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	stsc := sts.NewFromConfig(env.Config)
	for range 3 {
		if _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/R"), RoleSessionName: aws.String("bad name")}); err == nil {
		t.Fatal("want validation error")
	}
	env.FlushTrail(t)
	ct := cloudtrail.NewFromConfig(env.Config)
	out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("GetCallerIdentity")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 3 {
		t.Fatalf("got %d GetCallerIdentity events, want 3", len(out.Events))
	}
	ev := out.Events[0]
	if aws.ToString(ev.EventSource) != "sts.amazonaws.com" || aws.ToString(ev.Username) != "root" || aws.ToString(ev.ReadOnly) != "true" {
		t.Errorf("event = %+v", ev)
	}
	if !strings.Contains(aws.ToString(ev.CloudTrailEvent), `"eventType":"AwsApiCall"`) {
		t.Errorf("CloudTrailEvent = %s", aws.ToString(ev.CloudTrailEvent))
	}
	// The failed call is recorded with its error code.
	failed, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRole")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed.Events) != 1 || !strings.Contains(aws.ToString(failed.Events[0].CloudTrailEvent), `"errorCode":"ValidationError"`) {
		t.Fatalf("AssumeRole events = %+v", failed.Events)
	}
	// Pagination: one per page, newest first, no repeats.
	env.FlushTrail(t) // the two LookupEvents calls above are events too
	seen := map[string]bool{}
	var token *string
	pages := 0
	for {
		page, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if seen[aws.ToString(e.EventId)] {
				t.Fatalf("event %s repeated", aws.ToString(e.EventId))
			}
			seen[aws.ToString(e.EventId)] = true
		}
		pages++
		if page.NextToken == nil || pages > 20 {
			break
		}
		token = page.NextToken
	}
	if len(seen) != 6 {
		t.Errorf("paged through %d events, want 6", len(seen))
	}
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	if got := apiCode(t, err); got != "InvalidMaxResultsException" {
		t.Errorf("MaxResults 51: %q", got)
	}
}

func TestUnknownServiceAndOperation(t *testing.T) {
	env := testenv.Start(t)
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 501 || !strings.Contains(string(body), "dynamodb") || resp.Header.Get("X-Amzn-ErrorType") != "NotImplemented" {
		t.Errorf("status %d, headers %v, body %s", resp.StatusCode, resp.Header, body)
	}
}

func TestHealthMetricsCORS(t *testing.T) {
	env := testenv.Start(t)
	var h struct {
		Status   string            `json:"status"`
		Storage  string            `json:"storage"`
		Services map[string]string `json:"services"`
	}
	if code := env.Admin(t, http.MethodGet, "/_fogbank/health", nil, &h); code != 200 || h.Status != "running" || h.Services["sts"] != "running" {
		t.Fatalf("health %d %+v", code, h)
	}
	if _, err := sts.NewFromConfig(env.Config).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `fogbank_requests_total{operation="GetCallerIdentity",service="sts",status="200"} 1`) {
		t.Errorf("metrics lack the request counter:\n%s", body)
	}
	req, _ := http.NewRequest(http.MethodOptions, env.URL+"/", nil)
	req.Header.Set("Origin", "http://example.test")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-amz-date")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Headers") != "authorization,x-amz-date" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestClockAdvanceEndpoint(t *testing.T) {
	env := testenv.Start(t)
	before := env.Server.Clock().Now()
	var out struct {
		Now time.Time `json:"now"`
	}
	if code := env.Admin(t, http.MethodPost, "/_fogbank/clock/advance?by=2h", nil, &out); code != 200 {
		t.Fatalf("status %d", code)
	}
	if d := out.Now.Sub(before); d < 2*time.Hour || d > 2*time.Hour+time.Minute {
		t.Errorf("clock moved by %v, want 2h", d)
	}
	if code := env.Admin(t, http.MethodPost, "/_fogbank/clock/advance", map[string]float64{"seconds": -5}, nil); code != 400 {
		t.Errorf("negative advance: %d", code)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var akid, secret string
	func() {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		env.NewAccount(t, "222222222222")
		k, err := env.Server.Identity().CreateKey(ctx, "222222222222", "alice")
		if err != nil {
			t.Fatal(err)
		}
		akid, secret = k.AccessKeyID, k.Secret
		if _, err := sts.NewFromConfig(env.ConfigFor(akid, secret, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
		if err := env.Server.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	env := testenv.Start(t, testenv.WithDataDir(dir))
	who, err := sts.NewFromConfig(env.ConfigFor(akid, secret, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(who.Arn) != "arn:aws:iam::222222222222:user/alice" {
		t.Errorf("arn = %s", aws.ToString(who.Arn))
	}
	out, err := cloudtrail.NewFromConfig(env.ConfigFor(akid, secret, "")).LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) == 0 || aws.ToString(out.Events[len(out.Events)-1].EventName) != "GetCallerIdentity" {
		t.Errorf("trail after restart: %+v", out.Events)
	}
}

func TestResetKeepsDefaultCredentials(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	env.NewAccount(t, "333333333333")
	if code := env.Admin(t, http.MethodPost, "/_fogbank/reset", nil, nil); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	if ok, _ := env.Server.Identity().AccountExists(ctx, "333333333333"); ok {
		t.Error("account survived reset")
	}
	if _, err := sts.NewFromConfig(env.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("default credentials after reset: %v", err)
	}
}
