package identity

import "testing"

func TestSplitRoleARN(t *testing.T) {
	tests := []struct{ arn, acct, name string }{
		{"arn:aws:iam::111111111111:role/Admin", "111111111111", "Admin"},
		{"arn:aws:iam::111111111111:role/path/to/Admin", "111111111111", "Admin"},
		{"arn:aws:iam::1111:role/Admin", "", ""},
		{"arn:aws:iam::111111111111:user/bob", "", ""},
		{"nonsense", "", ""},
	}
	for _, tc := range tests {
		a, n := SplitRoleARN(tc.arn)
		if a != tc.acct || n != tc.name {
			t.Errorf("SplitRoleARN(%q) = %q, %q", tc.arn, a, n)
		}
	}
}

func TestKeyIdentity(t *testing.T) {
	tests := []struct {
		key                 Key
		typ, arn, principal string
	}{
		{Key{AccessKeyID: "test", Account: "000000000000"}, "Root", "arn:aws:iam::000000000000:root", "000000000000"},
		{Key{AccessKeyID: "AKIAABCDEFGHIJKLMNOP", Account: "1", UserName: "bob"}, "IAMUser", "arn:aws:iam::1:user/bob", "AIDAABCDEFGHIJKLMNOP"},
		{Key{AccessKeyID: "ASIA", Account: "2", RoleARN: "arn:aws:iam::222222222222:role/R", RoleID: "AROAX", SessionName: "s"}, "AssumedRole", "arn:aws:sts::222222222222:assumed-role/R/s", "AROAX:s"},
	}
	for _, tc := range tests {
		id := tc.key.Identity()
		if id.Type != tc.typ || id.ARN != tc.arn || id.PrincipalID != tc.principal {
			t.Errorf("%+v -> %+v", tc.key, id)
		}
	}
}

func TestValidAccountID(t *testing.T) {
	for in, want := range map[string]bool{"000000000000": true, "12345678901": false, "1234567890123": false, "12345678901a": false} {
		if ValidAccountID(in) != want {
			t.Errorf("ValidAccountID(%q) != %v", in, want)
		}
	}
}
