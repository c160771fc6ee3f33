package lambda_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

type urlResp struct {
	status int
	header http.Header
	body   []byte
}

// urlCall sends one request to a function URL (host form when host is set,
// else the URL as given), optionally SigV4-signed for service lambda.
func urlCall(t *testing.T, env *testenv.Env, method, target, host string, header map[string]string, body []byte, sign bool) urlResp {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if sign {
		creds, _ := env.Config.Credentials.Retrieve(context.Background())
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return urlResp{resp.StatusCode, resp.Header, b}
}

func TestFunctionURLs(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	ctx := context.Background()
	createFn(t, c, "urlfn", nil)

	// Control plane and its errors.
	_, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("nope"), AuthType: types.FunctionUrlAuthTypeNone})
	apiErr(t, err, "ResourceNotFoundException")
	for _, q := range []string{"1", "$LATEST"} {
		_, err = c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), Qualifier: aws.String(q), AuthType: types.FunctionUrlAuthTypeNone})
		apiErr(t, err, "ValidationException")
	}
	_, err = c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), Qualifier: aws.String("noalias"), AuthType: types.FunctionUrlAuthTypeNone})
	apiErr(t, err, "ResourceNotFoundException")
	_, err = c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), AuthType: "BAD"})
	apiErr(t, err, "ValidationException")
	cr, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeNone,
		Cors: &types.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"GET", "POST"}, MaxAge: aws.Int32(60), ExposeHeaders: []string{"x-echo"}}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(aws.ToString(cr.FunctionUrl))
	if err != nil || !strings.Contains(u.Host, ".lambda-url.us-east-1.") || aws.ToString(cr.FunctionArn) != "arn:aws:lambda:us-east-1:"+env.Account+":function:urlfn" {
		t.Fatalf("create: %s %s", aws.ToString(cr.FunctionUrl), aws.ToString(cr.FunctionArn))
	}
	id := strings.Split(u.Host, ".")[0]
	_, err = c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeNone})
	apiErr(t, err, "ResourceConflictException")
	got, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn")})
	if err != nil || got.InvokeMode != types.InvokeModeBuffered || aws.ToString(got.FunctionUrl) != aws.ToString(cr.FunctionUrl) || got.Cors == nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("urlfn")})
	if err != nil || len(list.FunctionUrlConfigs) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}

	host := id + ".lambda-url.us-east-1.localhost"
	// NONE without a resource policy statement for "*" is refused.
	if r := urlCall(t, env, "GET", env.URL+"/plain", host, nil, nil, false); r.status != http.StatusForbidden {
		t.Fatalf("no permission: %d %s", r.status, r.body)
	}
	if _, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("urlfn"), StatementId: aws.String("url"),
		Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}

	// Structured response, 2.0 event.
	r := urlCall(t, env, "POST", env.URL+"/echo/a%2Fb?x=1&x=2&y=3", host,
		map[string]string{"Content-Type": "application/json", "Cookie": "c1=v1; c2=v2", "X-Custom": "Mixed Case"}, []byte(`{"k":"v"}`), false)
	if r.status != 201 || r.header.Get("X-Echo") != "yes" || len(r.header.Values("Set-Cookie")) != 2 || r.header.Get("X-Amzn-Requestid") == "" {
		t.Fatalf("echo: %d %v %s", r.status, r.header, r.body)
	}
	var ev struct {
		Version               string
		RawPath               string
		RawQueryString        string
		Cookies               []string
		Headers               map[string]string
		QueryStringParameters map[string]string
		Body                  string
		IsBase64Encoded       bool
		RequestContext        struct {
			AccountID    string
			DomainPrefix string
			HTTP         struct{ Method, Path string }
		}
	}
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Version != "2.0" || ev.RawPath != "/echo/a%2Fb" || ev.RawQueryString != "x=1&x=2&y=3" || ev.QueryStringParameters["x"] != "1,2" ||
		len(ev.Cookies) != 2 || ev.Headers["x-custom"] != "Mixed Case" || ev.Body != `{"k":"v"}` || ev.IsBase64Encoded ||
		ev.RequestContext.DomainPrefix != id || ev.RequestContext.AccountID != "anonymous" || ev.RequestContext.HTTP.Method != "POST" {
		t.Fatalf("event: %+v", ev)
	}
	// Binary request bodies arrive base64-encoded.
	r = urlCall(t, env, "PUT", env.URL+"/echo", host, map[string]string{"Content-Type": "application/octet-stream"}, []byte{0, 1, 2, 255}, false)
	if err := json.Unmarshal(r.body, &ev); err != nil || !ev.IsBase64Encoded || ev.Body != "AAEC/w==" {
		t.Fatalf("binary request: %s %v", r.body, err)
	}

	// Path form, plain JSON and string answers.
	pathBase := env.URL + "/2021-10-31/function-urls/" + id
	r = urlCall(t, env, "GET", pathBase+"/plain", "", nil, nil, false)
	if r.status != 200 || string(r.body) != `{"hello":"world"}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("plain: %d %s %v", r.status, r.body, r.header)
	}
	if r = urlCall(t, env, "GET", pathBase+"/string", "", nil, nil, false); string(r.body) != "hello" {
		t.Fatalf("string: %s", r.body)
	}
	// Base64 response bodies are decoded.
	r = urlCall(t, env, "GET", env.URL+"/binary", host, nil, nil, false)
	if r.status != 200 || len(r.body) != 256 || r.body[255] != 255 {
		t.Fatalf("binary: %d %d", r.status, len(r.body))
	}
	// gzip: the function compresses when Accept-Encoding allows; bytes pass through.
	r = urlCall(t, env, "GET", env.URL+"/gzip", host, map[string]string{"Accept-Encoding": "gzip, deflate"}, nil, false)
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if len(plain) != 18000 || len(r.body) > 1000 {
		t.Fatalf("gzip body: %d compressed to %d", len(plain), len(r.body))
	}
	if r = urlCall(t, env, "GET", env.URL+"/gzip", host, nil, nil, false); r.header.Get("Content-Encoding") != "" || len(r.body) != 18000 {
		t.Fatalf("identity: %v %d", r.header, len(r.body))
	}
	if r = urlCall(t, env, "GET", env.URL+"/error", host, nil, nil, false); r.status != http.StatusBadGateway {
		t.Fatalf("function error: %d %s", r.status, r.body)
	}

	// CORS from the URL's configuration.
	r = urlCall(t, env, "OPTIONS", env.URL+"/echo", host, map[string]string{"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}, nil, false)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://example.com" || r.header.Get("Access-Control-Allow-Methods") != "GET,POST" ||
		r.header.Get("Access-Control-Max-Age") != "60" {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = urlCall(t, env, "GET", env.URL+"/plain", host, map[string]string{"Origin": "https://evil.example"}, nil, false)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %v", r.status, r.header)
	}
	r = urlCall(t, env, "GET", env.URL+"/plain", host, map[string]string{"Origin": "https://example.com"}, nil, false)
	if r.header.Get("Access-Control-Allow-Origin") != "https://example.com" || r.header.Get("Access-Control-Expose-Headers") != "x-echo" {
		t.Fatalf("simple CORS: %v", r.header)
	}

	// AWS_IAM needs a signature.
	if _, err := c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("urlfn"), AuthType: types.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Fatal(err)
	}
	if r = urlCall(t, env, "GET", env.URL+"/plain", host, nil, nil, false); r.status != http.StatusForbidden {
		t.Fatalf("unsigned IAM: %d", r.status)
	}
	r = urlCall(t, env, "GET", env.URL+"/echo", host, nil, nil, true)
	if err := json.Unmarshal(r.body, &ev); r.status != 201 || err != nil || ev.RequestContext.AccountID != env.Account {
		t.Fatalf("signed IAM: %d %s", r.status, r.body)
	}

	if _, err := c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("urlfn")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("urlfn")})
	apiErr(t, err, "ResourceNotFoundException")
	if r = urlCall(t, env, "GET", pathBase+"/plain", "", nil, nil, false); r.status != http.StatusForbidden {
		t.Fatalf("deleted URL: %d", r.status)
	}
}
