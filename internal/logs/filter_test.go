package logs

import "testing"

func TestFilterPattern(t *testing.T) {
	tests := []struct {
		pattern, msg string
		want         bool
	}{
		{"", "anything", true},
		{"ERROR", "an ERROR happened", true},
		{"ERROR", "an error happened", false},
		{"ERROR timeout", "ERROR: timeout", true},
		{"ERROR timeout", "ERROR: other", false},
		{`"REPORT RequestId"`, "REPORT RequestId: 1", true},
		{`"REPORT RequestId"`, "REPORT x RequestId", false},
		{"?ERROR ?WARN", "WARN disk", true},
		{"?ERROR ?WARN", "INFO ok", false},
		{"ERROR -retry", "ERROR retry later", false},
		{"ERROR -retry", "ERROR fatal", true},
		{`{ $.level = "error" }`, `{"level":"error"}`, true},
		{`{ $.level = "error" }`, `{"level":"info"}`, false},
		{`{ $.a.b > 5 }`, `{"a":{"b":7}}`, true},
		{`{ $.a.b > 5 }`, `{"a":{"b":3}}`, false},
		{`{ $.x = "ab*" }`, `{"x":"abc"}`, true},
		{`{ $.x != "y" && $.n = 1 }`, `{"x":"z","n":1}`, true},
		{`{ $.x = "y" || $.n = 1 }`, `{"x":"z","n":1}`, true},
		{`{ $.ok = true }`, `{"ok":true}`, true},
		{`{ $.v = null }`, `{"v":null}`, true},
		{`{ $.level = "error" }`, `not json`, false},
	}
	for _, tc := range tests {
		fp, err := ParseFilterPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := fp.Match(tc.msg); got != tc.want {
			t.Errorf("%q on %q: got %v", tc.pattern, tc.msg, got)
		}
	}
	for _, bad := range []string{`{ $.a = }`, `{ a = 1 }`, `{ $.a > "x" }`, `[a, b]`, `"unterminated`, `{ $.a = 1 &&  }`} {
		if _, err := ParseFilterPattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzFilterPattern(f *testing.F) {
	for _, s := range []string{"", "ERROR", `"a b"`, "?x -y", `{ $.a = "b" }`, `{ $.n >= 3 || $.m != 2 }`} {
		f.Add(s, `{"a":"b","n":4}`)
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		fp, err := ParseFilterPattern(pattern)
		if err != nil {
			return
		}
		fp.Match(msg)
	})
}
