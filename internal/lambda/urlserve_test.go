package lambda

import (
	"net/http/httptest"
	"testing"
)

func TestMapURLResponse(t *testing.T) {
	for _, tc := range []struct {
		name, payload, body, ctype, enc string
		status                          int
		bad                             bool
	}{
		{name: "object", payload: `{"hello":"world"}`, status: 200, body: `{"hello":"world"}`, ctype: "application/json"},
		{name: "string", payload: `"hello"`, status: 200, body: "hello", ctype: "application/json"},
		{name: "number", payload: `2`, status: 200, body: "2", ctype: "application/json"},
		{name: "list", payload: `["hello",3,true]`, status: 200, body: `["hello",3,true]`, ctype: "application/json"},
		{name: "structured", payload: `{"statusCode":404,"headers":{"Content-Type":"text/plain"},"body":"nope"}`, status: 404, body: "nope", ctype: "text/plain"},
		{name: "structured default type", payload: `{"statusCode":200,"body":"body123"}`, status: 200, body: "body123", ctype: "application/json"},
		{name: "base64", payload: `{"statusCode":200,"body":"aGk=","isBase64Encoded":true,"headers":{"content-encoding":"gzip"}}`, status: 200, body: "hi", ctype: "application/json", enc: "gzip"},
		{name: "bad base64", payload: `{"statusCode":200,"body":"!!","isBase64Encoded":true}`, bad: true},
		{name: "bad status", payload: `{"statusCode":"x"}`, bad: true},
		{name: "status out of range", payload: `{"statusCode":42}`, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := mapURLResponse([]byte(tc.payload))
			if tc.bad {
				if err == nil {
					t.Fatalf("want error, got %+v", r)
				}
				return
			}
			if err != nil || r.status != tc.status || string(r.body) != tc.body || r.header.Get("Content-Type") != tc.ctype || r.header.Get("Content-Encoding") != tc.enc {
				t.Fatalf("got %d %q %v %v", r.status, r.body, r.header, err)
			}
		})
	}
}

func TestURLRequestTarget(t *testing.T) {
	for _, tc := range []struct{ host, path, id, raw string }{
		{"abc123.lambda-url.us-east-1.localhost:4566", "/x/y", "abc123", "/x/y"},
		{"ABC.lambda-url.eu-west-1.example.com", "", "abc", "/"},
		{"127.0.0.1:4566", "/2021-10-31/function-urls/abc/p%2Fq", "abc", "/p%2Fq"},
		{"127.0.0.1:4566", "/2021-10-31/function-urls/abc", "abc", "/"},
		{"127.0.0.1:4566", "/2015-03-31/functions/f/invocations", "", ""},
		{"lambda.us-east-1.localhost", "/", "", ""},
	} {
		r := httptest.NewRequest("GET", "http://placeholder"+tc.path, nil)
		r.Host = tc.host
		id, raw, ok := urlRequestTarget(r)
		if ok != (tc.id != "") || id != tc.id || raw != tc.raw {
			t.Errorf("%s %s: got %q %q %v", tc.host, tc.path, id, raw, ok)
		}
	}
}

func FuzzMapURLResponse(f *testing.F) {
	for _, s := range []string{`{"statusCode":200,"body":"x"}`, `"s"`, `[1]`, `{"statusCode":200,"cookies":["a=b"],"isBase64Encoded":true,"body":"AA=="}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := mapURLResponse(b)
		if err == nil && (r.status < 100 || r.status > 599 || r.header.Get("Content-Type") == "") {
			t.Fatalf("bad mapping %+v", r)
		}
	})
}

func FuzzURLRequestTarget(f *testing.F) {
	f.Add("a.lambda-url.r.h", "/p")
	f.Add("h", "/2021-10-31/function-urls/x/y")
	f.Fuzz(func(t *testing.T, host, path string) {
		r := httptest.NewRequest("GET", "http://placeholder/", nil)
		r.Host = host
		r.URL.Path = path
		if id, raw, ok := urlRequestTarget(r); ok && (id == "" || raw == "" || raw[0] != '/') {
			t.Fatalf("%q %q -> %q %q", host, path, id, raw)
		}
	})
}
