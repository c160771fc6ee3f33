package protocol

import (
	"bytes"
	"encoding/xml"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// writeQueryXML is WriteQuery's envelope as encoding/xml writes it, the
// oracle for the hand-written one.
func writeQueryXML(t *testing.T, xmlns, action, reqID string, result any) string {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0"?>`)
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}}
	if xmlns != "" {
		root.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.EncodeToken(root))
	if result != nil {
		must(enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}))
	}
	must(enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{reqID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}))
	must(enc.EncodeToken(root.End()))
	must(enc.Flush())
	return buf.String()
}

func TestWriteQueryMatchesEncoder(t *testing.T) {
	type inner struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value,omitempty"`
	}
	type result struct {
		Arn   string  `xml:"Arn"`
		Items []inner `xml:"Items>member"`
		N     int     `xml:"N"`
		Attr  string  `xml:"id,attr,omitempty"`
	}
	for _, tt := range []struct {
		xmlns, reqID string
		result       any
	}{
		{"https://sts.amazonaws.com/doc/2011-06-15/", "5f3c1b2e-0000-4000-8000-000000000000",
			result{Arn: "arn:aws:iam::000000000000:root", Items: []inner{{"a", "<b&c>"}, {Key: "\"q'\n\t\r"}}, N: 3}},
		{"", "req", nil},
		{`ns"<&>'`, "id\n\x01\u00e9", result{Attr: "x&y"}},
		{"https://sqs.amazonaws.com/doc/2012-11-05/", "", struct {
			QueueURL string `xml:"QueueUrl"`
		}{"http://localhost:4566/000000000000/q"}},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r, call := withCall(r)
		call.RequestID = tt.reqID
		w := httptest.NewRecorder()
		Codec{Kind: AWSQuery, XMLNS: tt.xmlns}.WriteQuery(w, r, "SomeAction", tt.result)
		if want := writeQueryXML(t, tt.xmlns, "SomeAction", tt.reqID, tt.result); w.Body.String() != want {
			t.Errorf("got  %s\nwant %s", w.Body.String(), want)
		}
	}
}

func TestFormBodyMatchesMime(t *testing.T) {
	for _, ct := range []string{
		"", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
		"APPLICATION/x-www-form-urlencoded", " application/x-www-form-urlencoded ; charset", "application/json",
		"application/x-amz-json-1.0", "garbage", "text/plain; a=b", "application/x-www-form-urlencodedx", ";",
	} {
		mt, _, _ := mime.ParseMediaType(ct)
		if got, want := formBody(ct), mt == "" || mt == formType; got != want {
			t.Errorf("formBody(%q) = %v, mime says %q", ct, got, mt)
		}
	}
}

func TestParseQueryReadsBodyOnce(t *testing.T) {
	body := "Action=SendMessage&MessageBody=hello+world&Version=2012-11-05"
	for _, withQuery := range []bool{false, true} {
		target := "/"
		if withQuery {
			target = "/?Extra=1&Action=Q"
		}
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		vals, err := ParseQuery(r)
		if err != nil {
			t.Fatal(err)
		}
		if vals.Get("MessageBody") != "hello world" || withQuery && (vals.Get("Extra") != "1" || vals["Action"][0] != "Q" || vals["Action"][1] != "SendMessage") {
			t.Fatalf("vals = %v", vals)
		}
		again, err := ReadBody(r, 0) // the body stays readable
		if err != nil || string(again) != body {
			t.Fatalf("body after ParseQuery = %q, %v", again, err)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", 100)))
	if _, err := ReadBody(r, 99); err == nil {
		t.Fatal("ReadBody over the limit succeeded")
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", 99)))
	if b, err := ReadBody(r, 99); err != nil || len(b) != 99 {
		t.Fatalf("ReadBody at the limit = %d bytes, %v", len(b), err)
	}
}
