package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/service"
)

func withCall(r *http.Request) (*http.Request, *service.Call) {
	c := &service.Call{RequestID: "req-1"}
	return r.WithContext(service.WithCall(context.Background(), c)), c
}

func TestWriteErrorShapes(t *testing.T) {
	e := &Error{Code: "QueueDoesNotExist", Message: "The specified queue does not exist.", QueryCode: "AWS.SimpleQueueService.NonExistentQueue"}
	tests := []struct {
		name       string
		codec      Codec
		wantStatus int
		wantBody   []string
		wantHeader map[string]string
	}{
		{"awsJson1_0", Codec{Kind: AWSJSON10, Namespace: "com.amazonaws.sqs"}, 400,
			[]string{`"__type":"com.amazonaws.sqs#QueueDoesNotExist"`, `"message":"The specified queue does not exist."`},
			map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender", "Content-Type": "application/x-amz-json-1.0", "X-Amzn-ErrorType": "QueueDoesNotExist"}},
		{"awsQuery", Codec{Kind: AWSQuery, XMLNS: "http://queue.amazonaws.com/doc/2012-11-05/"}, 400,
			[]string{`<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist.</Message><Detail></Detail></Error><RequestId>req-1</RequestId></ErrorResponse>`},
			map[string]string{"Content-Type": "text/xml"}},
		{"restJson1", Codec{Kind: RESTJSON}, 400, []string{`"message":"The specified queue does not exist."`}, map[string]string{"X-Amzn-ErrorType": "QueueDoesNotExist"}},
		{"restXml", Codec{Kind: RESTXML}, 400, []string{`<Error><Code>QueueDoesNotExist</Code><Message>The specified queue does not exist.</Message><RequestId>req-1</RequestId></Error>`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, call := withCall(httptest.NewRequest(http.MethodPost, "/", nil))
			w := httptest.NewRecorder()
			tc.codec.WriteError(w, r, e)
			if w.Code != tc.wantStatus {
				t.Errorf("status %d", w.Code)
			}
			for _, s := range tc.wantBody {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %s lacks %s", w.Body.String(), s)
				}
			}
			for k, v := range tc.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if call.ErrorCode == "" || call.ErrorMessage != e.Message {
				t.Errorf("call not updated: %+v", call)
			}
		})
	}
}

func TestInternalErrorsAreHidden(t *testing.T) {
	r, call := withCall(httptest.NewRequest(http.MethodPost, "/", nil))
	w := httptest.NewRecorder()
	Codec{Kind: AWSJSON11}.WriteError(w, r, errors.New("disk on fire"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk") || call.ErrorCode != "InternalFailure" {
		t.Errorf("status %d body %s call %+v", w.Code, w.Body.String(), call)
	}
}

func TestWriteQuery(t *testing.T) {
	type result struct {
		Account string `xml:"Account"`
	}
	r, _ := withCall(httptest.NewRequest(http.MethodPost, "/", nil))
	w := httptest.NewRecorder()
	Codec{Kind: AWSQuery, XMLNS: "https://sts.amazonaws.com/doc/2011-06-15/"}.WriteQuery(w, r, "GetCallerIdentity", result{Account: "000000000000"})
	want := `<?xml version="1.0"?><GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if w.Body.String() != want {
		t.Errorf("got  %s\nwant %s", w.Body.String(), want)
	}
	w = httptest.NewRecorder()
	Codec{Kind: AWSQuery}.WriteQuery(w, r, "DeleteQueue", nil)
	if want := `<?xml version="1.0"?><DeleteQueueResponse><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DeleteQueueResponse>`; w.Body.String() != want {
		t.Errorf("no result: %s", w.Body.String())
	}
}

func TestQueryIndexes(t *testing.T) {
	v := url.Values{"Attribute.1.Name": {"a"}, "Attribute.1.Value": {"1"}, "Attribute.3.Name": {"c"}, "Attribute.x": {"?"}, "Attribute.0.Name": {"z"}, "Other.2": {"o"}}
	got := QueryIndexes(v, "Attribute")
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("QueryIndexes = %v, want [1 3]", got)
	}
}

func TestEpochSeconds(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 123000000), "1700000000.123"},
	}
	for _, tc := range tests {
		b, _ := json.Marshal(EpochSeconds(tc.in))
		if string(b) != tc.want {
			t.Errorf("marshal %v = %s, want %s", tc.in, b, tc.want)
		}
		var back EpochSeconds
		if err := json.Unmarshal(b, &back); err != nil || !time.Time(back).Equal(tc.in) {
			t.Errorf("round trip %s = %v, %v", b, time.Time(back), err)
		}
	}
	var iso EpochSeconds
	if err := json.Unmarshal([]byte(`"2024-01-02T03:04:05Z"`), &iso); err != nil || time.Time(iso).Unix() != 1704164645 {
		t.Errorf("ISO 8601: %v %v", time.Time(iso), err)
	}
}

func TestUnmarshalJSONErrors(t *testing.T) {
	var v struct{ Name string }
	for _, in := range []string{`{`, `{"Name": 5}`, `[1]`} {
		err := UnmarshalJSON([]byte(in), &v)
		var e *Error
		if !errors.As(err, &e) || e.Code != "SerializationException" {
			t.Errorf("%s: %v", in, err)
		}
	}
	if err := UnmarshalJSON(nil, &v); err != nil {
		t.Errorf("empty body: %v", err)
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"Name":"x","Tags":{"k":"v"},"N":[1,2]}`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			Name string
			Tags map[string]string
			N    []int
			T    *EpochSeconds
		}
		err := UnmarshalJSON(b, &v)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("non-protocol error %T: %v", err, err)
			}
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"Action=SendMessage&MessageBody=x", "Attribute.1.Name=a&Attribute.1.Value=b", "%zz", "a=1&a=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/?Version=1", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		vals, err := ParseQuery(r)
		if err != nil {
			return
		}
		if vals.Get("Version") != "1" {
			t.Fatalf("URL query lost: %v", vals)
		}
		prev := 0
		for _, n := range QueryIndexes(vals, "Attribute") {
			if n <= prev {
				t.Fatalf("indexes not ascending: %v", QueryIndexes(vals, "Attribute"))
			}
			prev = n
		}
	})
}
