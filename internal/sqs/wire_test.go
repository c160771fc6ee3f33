package sqs

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMD5OfAttributes(t *testing.T) {
	s := func(v string) MessageAttributeValue { return MessageAttributeValue{DataType: "String", StringValue: v} }
	// Digests recorded from AWS (conformance snapshots).
	cases := []struct {
		attrs map[string]MessageAttributeValue
		want  string
	}{
		{map[string]MessageAttributeValue{"Foo": s("Bar")}, "ae7155c6026991b6d54b11589678bf9c"},
		{map[string]MessageAttributeValue{"Help.Me": s("Me"), "Hello": s("There"), "General": s("Kenobi")}, "4c360f3fdafd970e05fae2f149d997f5"},
		{map[string]MessageAttributeValue{"Hello": s("There")}, "a311262e065454b75da111d535b8dacd"},
		{map[string]MessageAttributeValue{"AWSTraceHeader": s("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")}, "5ae4d5d7636402d80f4eb6d213245a88"},
		{map[string]MessageAttributeValue{"timestamp": {DataType: "Number", StringValue: "1493147359900"}}, "235c5c510d26fb653d073faed50ae77c"},
		{map[string]MessageAttributeValue{"attr1": {DataType: "Binary", BinaryValue: []byte("traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01")}}, "8cbe4db156db8a94db8b801b7addb984"},
		{nil, ""},
	}
	for _, tc := range cases {
		if got := md5OfAttributes(tc.attrs); got != tc.want {
			t.Errorf("md5OfAttributes(%v) = %s, want %s", tc.attrs, got, tc.want)
		}
	}
	if got := md5Hex([]byte("msg")); got != "6e2baaf3b97dbeef01c0043275f9a0e7" {
		t.Errorf("md5 of body = %s", got)
	}
}

func TestParseQueueURL(t *testing.T) {
	cases := []struct {
		in                    string
		account, region, name string
		ok                    bool
	}{
		{"http://127.0.0.1:4566/000000000000/q1", "000000000000", "", "q1", true},
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo", "123456789012", "eu-west-1", "q.fifo", true},
		{"http://sqs.us-east-2.localhost.localstack.cloud:4566/111111111111/x", "111111111111", "us-east-2", "x", true},
		{"http://localhost:4566/queue/ap-south-1/111111111111/x", "111111111111", "ap-south-1", "x", true},
		{"/000000000000/q", "000000000000", "", "q", true},
		{"plain-name", "", "", "plain-name", true},
		{"http://host/notanaccount/q", "", "", "", false},
		{"http://host/q", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tc := range cases {
		a, r, n, ok := parseQueueURL(tc.in)
		if ok != tc.ok || (ok && (a != tc.account || r != tc.region || n != tc.name)) {
			t.Errorf("parseQueueURL(%q) = %q %q %q %v", tc.in, a, r, n, ok)
		}
	}
}

func TestReceiptRoundTrip(t *testing.T) {
	until := time.UnixMilli(1700000000123).UTC()
	received := until.Add(-30 * time.Second)
	for _, attempt := range []string{"", "0123abcd"} {
		h := receipt{raw: "42.abc def", until: until, received: received, attempt: attempt}.encode()
		r, ok := decodeReceipt(h)
		if !ok || r.raw != "42.abc def" || !r.until.Equal(until) || !r.received.Equal(received) || r.attempt != attempt {
			t.Fatalf("decode = %+v %v", r, ok)
		}
	}
	// Handles issued before the receive time was recorded still decode.
	r, ok := decodeReceipt(base64.StdEncoding.EncodeToString([]byte("fb1 1700000000123 42.abc def")))
	if !ok || r.raw != "42.abc def" || !r.until.Equal(until) || !r.received.IsZero() || r.attempt != "" {
		t.Fatalf("decode fb1 = %+v %v", r, ok)
	}
	for _, bad := range []string{"", "garbage", "Zm9v", "ZmIxIHggeQ==", base64.StdEncoding.EncodeToString([]byte("fb2 1 x y")),
		base64.StdEncoding.EncodeToString([]byte("fb3 1 2  raw")), base64.StdEncoding.EncodeToString([]byte("fb3 1 2 tok"))} {
		if _, ok := decodeReceipt(bad); ok {
			t.Errorf("decodeReceipt(%q) accepted", bad)
		}
	}
}

func TestQueryDocument(t *testing.T) {
	vals := url.Values{
		"Action": {"SendMessageBatch"}, "QueueUrl": {"http://h/000000000000/q"},
		"SendMessageBatchRequestEntry.1.Id":                                   {"a"},
		"SendMessageBatchRequestEntry.1.MessageBody":                          {"x"},
		"SendMessageBatchRequestEntry.1.DelaySeconds":                         {"3"},
		"SendMessageBatchRequestEntry.1.MessageAttribute.1.Name":              {"k"},
		"SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType":    {"String"},
		"SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": {"v"},
		"SendMessageBatchRequestEntry.2.Id":                                   {"b"},
		"SendMessageBatchRequestEntry.2.MessageBody":                          {"y"},
	}
	doc, err := queryDocument("SendMessageBatch", vals)
	if err != nil {
		t.Fatal(err)
	}
	var in sendMessageBatchInput
	if err := decodeInput(doc, &in); err != nil {
		t.Fatal(err)
	}
	if len(in.Entries) != 2 || *in.Entries[0].Id != "a" || in.Entries[0].DelaySeconds.V != 3 ||
		in.Entries[0].MessageAttributes["k"].StringValue != "v" || *in.Entries[1].MessageBody != "y" {
		b, _ := json.Marshal(in)
		t.Fatalf("decoded %s", b)
	}
	doc, _ = queryDocument("CreateQueue", url.Values{"QueueName": {"q"}, "Attribute.1.Name": {"DelaySeconds"}, "Attribute.1.Value": {"5"}, "Tag.1.Key": {"k"}, "Tag.1.Value": {"v"}})
	var cq createQueueInput
	if err := decodeInput(doc, &cq); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"DelaySeconds": "5"}, cq.Attributes); d != "" || cq.Tags["k"] != "v" {
		t.Fatalf("create queue decode: %s %v", d, cq.Tags)
	}
}

func TestNormalizeRedrive(t *testing.T) {
	got, err := normalizeRedrive(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":"5"}`)
	if err != nil || got != `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":5}` {
		t.Fatalf("normalize = %s %v", got, err)
	}
	for _, bad := range []string{`{`, `{"maxReceiveCount":1}`, `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d"}`,
		`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":0}`, `{"deadLetterTargetArn":"x","maxReceiveCount":1}`} {
		if _, err := normalizeRedrive(bad); err == nil {
			t.Errorf("normalizeRedrive(%s) accepted", bad)
		}
	}
}

func FuzzQueryDocument(f *testing.F) {
	f.Add("SendMessageBatch", "SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k&QueueUrl=x")
	f.Add("CreateQueue", "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=1&Tag.2.Key=k")
	f.Add("ReceiveMessage", "AttributeName.1=All&MaxNumberOfMessages=ten")
	f.Fuzz(func(t *testing.T, op, query string) {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		doc, err := queryDocument(op, vals)
		if err != nil {
			return
		}
		var in sendMessageBatchInput
		_ = decodeInput(doc, &in)
		var rm receiveMessageInput
		_ = decodeInput(doc, &rm)
	})
}

func FuzzParsers(f *testing.F) {
	f.Add("http://sqs.us-east-1.localhost:4566/000000000000/q")
	f.Add("arn:aws:sqs:us-east-1:000000000000:q")
	f.Add(receipt{raw: "1.x", until: time.Unix(0, 0), received: time.Unix(0, 0)}.encode())
	f.Add(receipt{raw: "1.x", until: time.Unix(0, 0), received: time.Unix(0, 0), attempt: "ab"}.encode())
	f.Fuzz(func(t *testing.T, s string) {
		parseQueueURL(s)
		ParseQueueARN(s)
		if r, ok := decodeReceipt(s); ok {
			if r2, ok := decodeReceipt(r.encode()); !ok || r2.raw != r.raw || !r2.until.Equal(r.until) || r2.attempt != r.attempt || (!r.received.IsZero() && !r2.received.Equal(r.received)) {
				t.Fatalf("receipt round trip failed for %q", s)
			}
		}
		validBodyChars(s)
		normalizeRedrive(s)
		normalizeRedriveAllow(s)
	})
}
