package server

import (
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// counterValue reads a counter of the registry by its label values in
// label order.
func counterValue(t *testing.T, m *metrics, name string, labels ...string) (float64, int) {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for i, l := range s.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue series
				}
			}
			if c := s.GetCounter(); c != nil {
				return c.GetValue(), len(f.GetMetric())
			}
			return float64(s.GetHistogram().GetSampleCount()), len(f.GetMetric())
		}
		return 0, len(f.GetMetric())
	}
	return 0, 0
}

func TestQueryValueMatchesURLParseQuery(t *testing.T) {
	for _, raw := range []string{
		"", "Action=GetCallerIdentity&Version=2011-06-15", "Version=1&Action=A&Action=B", "Action=", "Action",
		"Ac%74ion=Esc%61ped", "Action=a+b", "Action=%zz&Version=1", "x=%zz&Action=A", "x=1;y=2&Action=A",
		"Action=A;B", "&&Action=A&&", "Action%3DX=1", "NoAction=1", "Actions=1&Action=2", "%41ction=A",
	} {
		lenient, _ := url.ParseQuery(raw) // URL.Query: errors ignored
		if got, want := queryValue(raw, "Action", false), lenient.Get("Action"); got != want {
			t.Errorf("queryValue(%q, lenient) = %q, want %q", raw, got, want)
		}
		strict, err := url.ParseQuery(raw) // protocol.ParseQuery: an error drops everything
		want := strict.Get("Action")
		if err != nil {
			want = ""
		}
		if got := queryValue(raw, "Action", true); got != want {
			t.Errorf("queryValue(%q, strict) = %q, want %q", raw, got, want)
		}
	}
}

func TestIsFormTypeMatchesMime(t *testing.T) {
	for _, ct := range []string{
		"", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
		"Application/X-WWW-Form-Urlencoded", " application/x-www-form-urlencoded ;charset=utf-8",
		"application/x-www-form-urlencoded;", "application/x-www-form-urlencoded; charset", "application/json",
		"application/x-www-form-urlencodedx", "text/plain; a=application/x-www-form-urlencoded",
	} {
		mt, _, _ := mime.ParseMediaType(ct)
		if got, want := isFormType(ct), mt == formType; got != want {
			t.Errorf("isFormType(%q) = %v, mime says %q", ct, got, mt)
		}
	}
}

func TestStatusWriterFlushesCompleteBody(t *testing.T) {
	for _, tt := range []struct {
		name    string
		length  string // Content-Length header, "" for none
		writes  []string
		trailed bool // the call gets a trail record
		flushAt int  // index of the write after which the response is flushed; -1 never
	}{
		{"declared", "5", []string{"hel", "lo"}, false, 1},
		{"one write", "2", []string{"ok"}, false, 0},
		{"trailed", "2", []string{"ok"}, true, -1},
		{"no length", "", []string{"hello"}, false, -1},
		{"short", "9", []string{"hello"}, false, -1},
		{"empty", "0", nil, false, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			st := &requestState{srv: &Server{metrics: newMetrics()}, start: time.Now()}
			st.call.NoTrail = !tt.trailed
			st.call.Service, st.call.Operation = "lambda", "Invoke"
			w := &statusWriter{ResponseWriter: rec, contentLength: -1, req: st}
			st.sw = *w // observe reads the status from st.sw
			w = &st.sw
			if tt.length != "" {
				w.Header().Set("Content-Length", tt.length)
			}
			w.WriteHeader(http.StatusOK)
			for i, s := range tt.writes {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
				if rec.Flushed != (tt.flushAt >= 0 && i >= tt.flushAt) {
					t.Fatalf("after write %d: flushed = %v", i, rec.Flushed)
				}
			}
			if tt.flushAt < 0 && rec.Flushed {
				t.Fatal("flushed without a complete declared body")
			}
			if w.code() != http.StatusOK {
				t.Fatalf("code = %d", w.code())
			}
			// An early response is counted in the metrics before it is
			// sent, and only once.
			if got, _ := counterValue(t, st.srv.metrics, "fogbank_requests_total", "Invoke", "lambda", "200"); got != 0 && tt.flushAt < 0 || got != 1 && tt.flushAt >= 0 {
				t.Fatalf("requests counted %v times before the handler returned", got)
			}
			st.observe()
			if got, _ := counterValue(t, st.srv.metrics, "fogbank_requests_total", "Invoke", "lambda", "200"); got != 1 {
				t.Fatalf("requests counted %v times, want 1", got)
			}
		})
	}
}

func TestMetricsSeriesCached(t *testing.T) {
	m := newMetrics()
	for range 3 {
		m.observe("sqs", "SendMessage", 200, time.Millisecond)
	}
	m.observe("sqs", "SendMessage", 400, time.Millisecond)
	if got, _ := counterValue(t, m, "fogbank_requests_total", "SendMessage", "sqs", "200"); got != 3 {
		t.Fatalf("requests{200} = %v, want 3", got)
	}
	if got, _ := counterValue(t, m, "fogbank_requests_total", "SendMessage", "sqs", "400"); got != 1 {
		t.Fatalf("requests{400} = %v, want 1", got)
	}
	if got, n := counterValue(t, m, "fogbank_request_duration_seconds", "SendMessage", "sqs"); got != 4 || n != 1 {
		t.Fatalf("latency = %v observations in %d series, want 4 in 1", got, n)
	}
	if n := len(m.children); n != 2 {
		t.Fatalf("cached series = %d, want 2", n)
	}
	// Past the bound, series are still counted, only not cached.
	for i := range maxCachedSeries + 10 {
		m.observe("x", "Op", 200+i, 0)
	}
	if n := len(m.children); n != maxCachedSeries {
		t.Fatalf("cached series = %d, want %d", n, maxCachedSeries)
	}
	if got, _ := counterValue(t, m, "fogbank_requests_total", "Op", "x", "4305"); got != 1 {
		t.Fatalf("uncached series = %v, want 1", got)
	}
}

func TestRequestIDHeaderCanonical(t *testing.T) {
	if got := http.CanonicalHeaderKey("x-amzn-RequestId"); got != requestIDHeader {
		t.Fatalf("canonical x-amzn-RequestId = %q, constant %q", got, requestIDHeader)
	}
}
