package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// conformanceDir finds the shared conformance corpora: $FOGBANK_CONFORMANCE_DIR,
// else ../shared/conformance next to the repository root (the directory
// holding go.mod). It skips the test when the folder is absent.
func conformanceDir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("FOGBANK_CONFORMANCE_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatalf("getwd: %v", err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "conformance")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	full := filepath.Join(dir, sub)
	if st, err := os.Stat(full); dir == "" || err != nil || !st.IsDir() {
		t.Skipf("conformance corpus %q not found (set FOGBANK_CONFORMANCE_DIR); skipping", full)
	}
	return full
}

// suiteContext is a test case's context.json.
type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	ExpirationInSeconds int       `json:"expiration_in_seconds"`
	Normalize           bool      `json:"normalize"`
	Region              string    `json:"region"`
	Service             string    `json:"service"`
	SignBody            bool      `json:"sign_body"`
	Timestamp           time.Time `json:"timestamp"`
	OmitSessionToken    bool      `json:"omit_session_token"`
}

// parseSuiteRequest turns a suite request file into a server-side request as
// net/http would hand it to a handler: RequestURI is the raw target, Host is
// moved out of the header map, folded header lines are joined by textproto.
// The suite's request lines may hold raw spaces and UTF-8, which is why the
// line is split by hand (method before the first space, protocol after the last).
func parseSuiteRequest(t *testing.T, data []byte) *http.Request {
	t.Helper()
	head, body, _ := bytes.Cut(data, []byte("\n\n"))
	line, headerBlock, _ := bytes.Cut(head, []byte("\n"))
	l := string(line)
	sp1, sp2 := strings.IndexByte(l, ' '), strings.LastIndexByte(l, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		t.Fatalf("bad request line %q", l)
	}
	method, target := l[:sp1], l[sp1+1:sp2]
	hdr := http.Header{}
	if len(headerBlock) > 0 {
		tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(append([]byte{}, headerBlock...), "\n\n"...))))
		mh, err := tr.ReadMIMEHeader()
		if err != nil {
			t.Fatalf("read headers: %v", err)
		}
		hdr = http.Header(mh)
	}
	path, rawQuery, _ := strings.Cut(target, "?")
	r := &http.Request{
		Method:     method,
		RequestURI: target,
		URL:        &url.URL{Path: path, RawQuery: rawQuery},
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hdr,
		Host:   hdr.Get("Host"),
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	hdr.Del("Host")
	r.ContentLength = int64(len(body))
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			t.Fatalf("content-length %q: %v", cl, err)
		}
		r.ContentLength = n
	}
	return r.WithContext(context.Background())
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSuite runs every case of the AWS SigV4 test suite, header and query
// signing: the signed request must verify at the case's time, fail with
// SignatureDoesNotMatch when the signature is altered, and (for the cases
// whose canonical form is the service's primary rule) the canonical request
// and string to sign Verify reports must equal the suite's.
func TestSuite(t *testing.T) {
	dir := conformanceDir(t, filepath.Join("sigv4", "v4"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		caseDir := filepath.Join(dir, e.Name())
		var sc suiteContext
		if err := json.Unmarshal(readFile(t, filepath.Join(caseDir, "context.json")), &sc); err != nil {
			t.Fatalf("%s: context.json: %v", e.Name(), err)
		}
		for _, style := range []string{"header", "query"} {
			n++
			t.Run(e.Name()+"/"+style, func(t *testing.T) {
				raw := readFile(t, filepath.Join(caseDir, style+"-signed-request.txt"))
				wantSig := strings.TrimSpace(string(readFile(t, filepath.Join(caseDir, style+"-signature.txt"))))
				newVerifier := func(now time.Time) *Verifier {
					return &Verifier{
						Now: func() time.Time { return now },
						Lookup: func(_ context.Context, id string) (Credentials, error) {
							if id != sc.Credentials.AccessKeyID {
								return Credentials{}, ErrUnknownKey
							}
							return Credentials{id, sc.Credentials.SecretAccessKey, sc.Credentials.Token}, nil
						},
					}
				}
				v := newVerifier(sc.Timestamp)
				res, err := v.Verify(parseSuiteRequest(t, raw))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.Signature != wantSig || res.Service != sc.Service || res.Region != sc.Region ||
					res.Presigned != (style == "query") || !res.Time.Equal(sc.Timestamp) {
					t.Errorf("result = %+v", res)
				}
				if style == "query" && res.Expires != time.Duration(sc.ExpirationInSeconds)*time.Second {
					t.Errorf("Expires = %v, want %ds", res.Expires, sc.ExpirationInSeconds)
				}

				// An altered signature must fail, and the server's canonical
				// request must be the suite's one.
				bad := bytes.Replace(raw, []byte(wantSig), []byte(strings.Repeat("0", 64)), 1)
				_, err = v.Verify(parseSuiteRequest(t, bad))
				var ve *Error
				if !errors.As(err, &ve) || ve.Kind != KindSignatureMismatch || ve.Code != "SignatureDoesNotMatch" {
					t.Fatalf("tampered signature: err = %v", err)
				}
				if sc.Normalize && !(style == "query" && sc.OmitSessionToken) {
					wantCR := string(readFile(t, filepath.Join(caseDir, style+"-canonical-request.txt")))
					wantSTS := string(readFile(t, filepath.Join(caseDir, style+"-string-to-sign.txt")))
					if ve.CanonicalRequest != wantCR {
						t.Errorf("canonical request:\n%s\nwant:\n%s", ve.CanonicalRequest, wantCR)
					}
					if ve.StringToSign != wantSTS {
						t.Errorf("string to sign:\n%s\nwant:\n%s", ve.StringToSign, wantSTS)
					}
				}

				// Outside the time window the same request is rejected.
				window := 16 * time.Minute
				if style == "query" {
					window = time.Duration(sc.ExpirationInSeconds)*time.Second + time.Second
				}
				_, err = newVerifier(sc.Timestamp.Add(window)).Verify(parseSuiteRequest(t, raw))
				if !errors.As(err, &ve) || (ve.Kind != KindSkew && ve.Kind != KindExpired) {
					t.Fatalf("late request: err = %v", err)
				}
			})
		}
	}
	if n == 0 {
		t.Fatalf("no test cases found in %s", dir)
	}
}
