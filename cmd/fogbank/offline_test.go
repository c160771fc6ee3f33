package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/fogbank/fogbank/internal/testenv"
)

// runCLI runs the root command in-process and returns what it printed.
func runCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.Execute(); err != nil {
		t.Fatalf("fogbank %v: %v\n%s", args, err, out.Bytes())
	}
	return out.Bytes()
}

// TestOfflineAccountsAndKeys creates an account and a key in a stopped
// server's data dir, then starts a server on it and signs with the key.
func TestOfflineAccountsAndKeys(t *testing.T) {
	if testenv.StorageFromEnv() != "embedded" {
		t.Skip("the offline CLI test uses an embedded data dir")
	}
	dir := t.TempDir()
	runCLI(t, "accounts", "create", "--id", "111122223333", "--data-dir", dir)
	var key struct{ AccessKeyID, SecretAccessKey, Account string }
	if err := json.Unmarshal(runCLI(t, "keys", "create", "--account", "111122223333", "--data-dir", dir), &key); err != nil {
		t.Fatal(err)
	}
	var accts []struct{ ID string }
	if err := json.Unmarshal(runCLI(t, "accounts", "list", "--data-dir", dir), &accts); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range accts {
		found = found || a.ID == "111122223333"
	}
	if !found {
		t.Fatalf("accounts list %+v lacks 111122223333", accts)
	}

	env := testenv.Start(t, testenv.WithDataDir(dir))
	out, err := sts.NewFromConfig(env.ConfigFor(key.AccessKeyID, key.SecretAccessKey, "")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "111122223333" {
		t.Fatalf("caller account %s, want 111122223333", aws.ToString(out.Account))
	}
}
