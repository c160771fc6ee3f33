package transform

import (
	"errors"
	"testing"
	"time"
)

const testEvent = `{"version":"0","id":"e1","detail-type":"core.update-account-command","source":"core.update-account-command","account":"111111111111","time":"2024-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{"command":"update-account","valid":true,"payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"},"listsingle":["HIGH"],"listmulti":["ACTIVE","INACTIVE"],"n":[{"a":1}]}}`

func TestPathSelect(t *testing.T) {
	tests := []struct {
		path, want string
		found      bool
	}{
		{"$", testEvent, true},
		{"$.detail.command", `"update-account"`, true},
		{"$.detail.payload", `{"acc_id":"0a787ecb-4015","sf_id":"baz"}`, true},
		{"$.detail.payload.sf_id", `"baz"`, true},
		{"$.detail.listmulti[1]", `"INACTIVE"`, true},
		{"$['detail']['command']", `"update-account"`, true},
		{`$.detail["payload"].acc_id`, `"0a787ecb-4015"`, true},
		{"$.detail.n[0].a", `1`, true},
		{"$.detail.missing", "", false},
		{"$.detail.listmulti[5]", "", false},
		{"$.detail.command.x", "", false},
	}
	for _, tc := range tests {
		p, err := ParsePath(tc.path)
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tc.path, err)
		}
		got, ok := p.Select([]byte(testEvent))
		if ok != tc.found || (ok && string(got) != tc.want) {
			t.Errorf("Select(%q) = %s, %v; want %s, %v", tc.path, got, ok, tc.want, tc.found)
		}
	}
}

func TestParsePathInvalid(t *testing.T) {
	for _, s := range []string{"", "detail", "$.", "$..a", "$[x]", "$[1", "$.a[-1]", "$['a'", "$x"} {
		if _, err := ParsePath(s); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ParsePath(%q) = %v, want ErrInvalidPath", s, err)
		}
	}
}

func TestRender(t *testing.T) {
	paths := map[string]string{
		"detail-type": "$.detail-type", "command": "$.detail.command", "payload": "$.detail.payload",
		"userId": "$.detail.payload.acc_id", "listsingle": "$.detail.listsingle", "listmulti": "$.detail.listmulti",
		"systemstring": "$.detail.nothere", "valid": "$.detail.valid",
	}
	vars := Vars{RuleARN: "arn:aws:events:us-east-1:111111111111:rule/b/r", RuleName: "r", IngestionTime: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)}
	tests := []struct {
		name, template, want string
		err                  error
	}{
		// Recorded AWS answers (test_events_inputs.snapshot.json).
		{"json object", `{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}`, `{"method": "PUT", "path": "users-service/users/0a787ecb-4015", "bod": {"acc_id":"0a787ecb-4015","sf_id":"baz"}}`, nil},
		{"string with object", `"Payload of <payload> with path users-service/users/<userId> and <userId>"`, `"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015"`, nil},
		{"unquoted string in json", `{"id" : <userId>}`, `{"id" : "0a787ecb-4015"}`, nil},
		{"quoted string in json", `{"id" : "<userId>"}`, `{"id" : "0a787ecb-4015"}`, nil},
		{"array in json", `{"bod": [<userId>, "hardcoded"]}`, `{"bod": ["0a787ecb-4015", "hardcoded"]}`, nil},
		{"list unquoted in json", `{"singlelistitem": <listsingle>}`, `{"singlelistitem": ["HIGH"]}`, nil},
		{"list quoted in json fails", `{"singlelistitem": "<listsingle>"}`, "", ErrRender},
		{"list in plain text fails", `<listsingle> single list item`, "", ErrRender},
		{"lists in string", `"<listsingle> single list item <listmulti> multiple list items <systemstring> system account id <payload> payload <userId> user id"`,
			`"[HIGH] single list item [ACTIVE,INACTIVE] multiple list items  system account id {acc_id:0a787ecb-4015,sf_id:baz} payload 0a787ecb-4015 user id"`, nil},
		{"multi lines", "\"<listsingle> a\"\n\"<userId> b\"", "\"[HIGH] a\"\n\"0a787ecb-4015 b\"", nil},
		{"repeat", `{"multi_replacement": "users/<userId>/second/<userId>"}`, `{"multi_replacement": "users/0a787ecb-4015/second/0a787ecb-4015"}`, nil},
		{"bool in string", `"Command is <valid>!"`, `"Command is true!"`, nil},
		{"special start", `"{[/Check for event of <detail-type> type"`, `"{[/Check for event of core.update-account-command type"`, nil},
		{"missing in string", `"detail <systemstring>"`, `"detail "`, nil},
		{"missing in json", `{"a": <systemstring>, "b": "<systemstring>"}`, `{"a": null, "b": ""}`, nil},
		{"predefined", `"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"`, `"arn:aws:events:us-east-1:111111111111:rule/b/r r 2024-01-02T03:04:06Z"`, nil},
		{"plain text", `<userId> is <command>`, `0a787ecb-4015 is update-account`, nil},
		{"not a placeholder", `"a < b and <x y>"`, `"a < b and <x y>"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(paths, tc.template)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := tr.Render([]byte(testEvent), vars)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Render = %s, %v; want error %v", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Render = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}

func TestRenderEventVariables(t *testing.T) {
	tr, err := New(nil, `{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Render([]byte(testEvent), Vars{IngestionTime: time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"originalEvent": {"account":"111111111111","detailType":"core.update-account-command","id":"e1","region":"us-east-1","resources":[],"source":"core.update-account-command","time":"2024-01-02T03:04:06Z","version":"0"}, "originalEventJson": ` + testEvent + `}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(map[string]string{"a": "$.x"}, `{"a": <a>, "b": <notdefinedkey>}`)
	var pe *PlaceholderError
	if !errors.As(err, &pe) || pe.Name != "notdefinedkey" {
		t.Fatalf("err = %v, want placeholder notdefinedkey", err)
	}
	_, err = New(map[string]string{"a": "x"}, `<a>`)
	var pathErr *PathError
	if !errors.As(err, &pathErr) || pathErr.Key != "a" {
		t.Fatalf("err = %v, want PathError for a", err)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b", "$['a'][0]", `$["x"].y[12]`, "$.", "$[", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		p.Select([]byte(testEvent))
	})
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{`{"a": <a>}`, `"x <a> y"`, `<a> plain`, `"<aws.events.event>"`, `{"e": <aws.events.event.json>}`, `"\"<a>\""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tpl string) {
		tr, err := New(map[string]string{"a": "$.detail.payload"}, tpl)
		if err != nil {
			return
		}
		tr.Render([]byte(testEvent), Vars{})
	})
}
