package lambda

import (
	"testing"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

func TestParseFunctionName(t *testing.T) {
	call := &service.Call{Account: "111111111111", Region: "us-east-1"}
	tests := []struct {
		raw, qual string
		want      fnRef
		code      string
	}{
		{raw: "fn", want: fnRef{Name: "fn"}},
		{raw: "fn:live", want: fnRef{Name: "fn", Qualifier: "live"}},
		{raw: "fn", qual: "3", want: fnRef{Name: "fn", Qualifier: "3"}},
		{raw: "111111111111:function:fn", want: fnRef{Name: "fn"}},
		{raw: "arn:aws:lambda:us-east-1:111111111111:function:fn:$LATEST", want: fnRef{Name: "fn", Qualifier: "$LATEST"}},
		{raw: "arn:aws:lambda:eu-west-1:111111111111:function:fn", code: "ResourceNotFoundException"},
		{raw: "arn:aws:lambda:us-east-1:222222222222:function:fn", code: "AccessDeniedException"},
		{raw: "fn:1", qual: "2", code: "InvalidParameterValueException"},
		{raw: "invalid:function:name", code: "ValidationException"},
		{raw: "a!b", code: "ValidationException"},
		{raw: "", code: "ValidationException"},
		{raw: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", code: "InvalidParameterValueException"},
		{raw: "fn", qual: "bad?q", code: "ValidationException"},
	}
	for _, tc := range tests {
		t.Run(tc.raw+"/"+tc.qual, func(t *testing.T) {
			got, err := parseFunctionName(call, tc.raw, tc.qual, false)
			if tc.code != "" {
				e, _ := protocol.AsError(err)
				if err == nil || e.Code != tc.code {
					t.Fatalf("want %s, got %v", tc.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.Qualifier != tc.want.Qualifier || got.Account != call.Account {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"fn", "fn:1", "arn:aws:lambda:us-east-1:111111111111:function:fn:al", "111111111111:function:x", ":::", "arn:"} {
		f.Add(s, "")
	}
	call := &service.Call{Account: "111111111111", Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, raw, qual string) {
		ref, err := parseFunctionName(call, raw, qual, true)
		if err == nil && (ref.Name == "" || len(ref.Name) > 64 || !plainNameRE.MatchString(ref.Name)) {
			t.Fatalf("accepted bad name %q from %q", ref.Name, raw)
		}
	})
}

func TestOrderedEnv(t *testing.T) {
	env, measured, err := orderedEnv([]byte(`{"B":"1","A":"x\"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	if measured != `{"B":"1","A":"x\"y"}` || env["A"] != `x"y` {
		t.Fatalf("got %q %v", measured, env)
	}
	if _, _, err := orderedEnv([]byte(`{"A":1}`)); err == nil {
		t.Fatal("non-string value accepted")
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	var all []string
	marker := ""
	for {
		page, next := paginate(items, marker, 2, func(s string) string { return s })
		all = append(all, page...)
		if next == "" {
			break
		}
		marker = next
	}
	if len(all) != 5 || all[4] != "e" {
		t.Fatalf("pages: %v", all)
	}
}

// TestParseInvokeOtherAccount checks that Invoke's names may reach another
// account's function (authorized later against its policy), and other
// operations' may not.
func TestParseInvokeOtherAccount(t *testing.T) {
	call := &service.Call{Account: "111111111111", Region: "us-east-1"}
	for _, raw := range []string{"arn:aws:lambda:us-east-1:222222222222:function:fn:live", "222222222222:function:fn:live"} {
		ref, err := parseFunctionName(call, raw, "", true)
		if err != nil || ref.Account != "222222222222" || ref.Name != "fn" || ref.Qualifier != "live" || ref.Region != "us-east-1" {
			t.Errorf("invoke %s: %+v, %v", raw, ref, err)
		}
		if _, err := parseFunctionName(call, raw, "", false); err == nil {
			t.Errorf("%s accepted outside Invoke", raw)
		}
	}
}
