package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/fogbank/fogbank/internal/server"
	"github.com/fogbank/fogbank/internal/testenv"
)

// signedDo signs and sends a request with the test/test key.
func signedDo(t *testing.T, req *http.Request, body, svc string) (*http.Response, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hex.EncodeToString(sum[:]), svc, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestSTSJSONProtocol(t *testing.T) {
	env := testenv.Start(t)
	body := "{}"
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSSecurityTokenServiceV20110615.GetCallerIdentity")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, got := signedDo(t, req, body, "sts")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(got), &out); err != nil || out["Account"] != "000000000000" {
		t.Errorf("body %s (%v)", got, err)
	}
	// An unknown JSON operation is UnknownOperationException.
	req, _ = http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSSecurityTokenServiceV20110615.Nope")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, got = signedDo(t, req, body, "sts")
	if resp.StatusCode != 400 || !strings.Contains(got, "UnknownOperationException") {
		t.Errorf("unknown op: %d %s", resp.StatusCode, got)
	}
}

func TestQueryProtocolViaGET(t *testing.T) {
	env := testenv.Start(t)
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	resp, got := signedDo(t, req, "", "sts")
	if resp.StatusCode != 200 || !strings.Contains(got, "<Account>000000000000</Account>") || !strings.Contains(got, "<RequestId>") {
		t.Errorf("%d %s", resp.StatusCode, got)
	}
	req, _ = http.NewRequest(http.MethodGet, env.URL+"/?Action=NoSuchThing&Version=2011-06-15", nil)
	resp, got = signedDo(t, req, "", "sts")
	if resp.StatusCode != 400 || !strings.Contains(got, "<Code>InvalidAction</Code>") {
		t.Errorf("unknown action: %d %s", resp.StatusCode, got)
	}
}

func TestJSONAuthErrorCodes(t *testing.T) {
	env := testenv.Start(t)
	body := "{}"
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "CloudTrail_20131101.LookupEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256([]byte(body))
	v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "nope"}, req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
}

func TestServicesSubset(t *testing.T) {
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.Services = []string{"cloudtrail"} }))
	_, err := sts.NewFromConfig(env.Config).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if got := apiCode(t, err); got != "NotImplemented" {
		t.Errorf("sts disabled: code %q", got)
	}
	if _, err := server.New(context.Background(), server.Config{Services: []string{"nope"}, DataDir: t.TempDir()}); err == nil {
		t.Error("unknown service accepted")
	}
}

func TestSeededIDsAreDeterministic(t *testing.T) {
	ids := func() []string {
		env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.Seed = 42 }))
		var out []string
		for range 3 {
			resp, err := http.Get(env.URL + "/?Action=GetCallerIdentity&Version=2011-06-15")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			out = append(out, resp.Header.Get("x-amzn-RequestId"))
		}
		return out
	}
	a, b := ids(), ids()
	for i := range a {
		if a[i] == "" || a[i] != b[i] {
			t.Fatalf("request ids differ between seeded runs: %v vs %v", a, b)
		}
	}
}

func TestDevAnyCredentials(t *testing.T) {
	env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.DevAnyCredentials = true }))
	out, err := sts.NewFromConfig(env.ConfigFor("444444444444", "whatever", "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "444444444444" {
		t.Errorf("account %s", aws.ToString(out.Account))
	}
}
