package lambda_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fogbank/fogbank/internal/testenv"
)

// TestCrossAccountInvokeByPolicy checks Invoke authorization across
// accounts through the SDK: another account may invoke a function only
// where its resource policy (AddPermission) allows lambda:InvokeFunction
// for that account on the ARN invoked, and gets AccessDeniedException
// (403) otherwise; the owner's account needs no policy.
func TestCrossAccountInvokeByPolicy(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	owner := lambda.NewFromConfig(env.Config)
	b := lambda.NewFromConfig(env.NewAccount(t, "222222222222"))
	c := lambda.NewFromConfig(env.NewAccount(t, "333333333333"))
	fn := createFn(t, owner, "shared", nil)
	arn := aws.ToString(fn.FunctionArn)
	if _, err := owner.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("shared"), Name: aws.String("live"),
		FunctionVersion: aws.String("$LATEST")}); err != nil {
		t.Fatal(err)
	}
	call := func(cl *lambda.Client, name string, typ types.InvocationType) error {
		_, err := cl.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"x":1}`), InvocationType: typ})
		return err
	}
	denied := func(err error, caller, resource string) {
		t.Helper()
		var ae smithy.APIError
		var re *smithyhttp.ResponseError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !errors.As(err, &re) || re.HTTPStatusCode() != 403 {
			t.Fatalf("want AccessDeniedException (403), got %v", err)
		}
		want := "User: " + caller + " is not authorized to perform: lambda:InvokeFunction on resource: " + resource +
			" because no resource-based policy allows the lambda:InvokeFunction action"
		if ae.ErrorMessage() != want {
			t.Fatalf("message %q, want %q", ae.ErrorMessage(), want)
		}
	}

	// The owner invokes without any policy.
	if err := call(owner, "shared", ""); err != nil {
		t.Fatal(err)
	}
	// No policy: another account is refused, whether the function exists or not.
	denied(call(b, arn, ""), "arn:aws:iam::222222222222:root", arn)
	denied(call(b, arn, types.InvocationTypeEvent), "arn:aws:iam::222222222222:root", arn)
	denied(call(b, "000000000000:function:missing", ""), "arn:aws:iam::222222222222:root", "arn:aws:lambda:us-east-1:000000000000:function:missing")
	// A bare name is the caller's own account.
	apiErr(t, call(b, "shared", ""), "ResourceNotFoundException")

	// Account 222222222222 may invoke the function (not its alias).
	if _, err := owner.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("b"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("222222222222")}); err != nil {
		t.Fatal(err)
	}
	out, err := b.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"x":1}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"x":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("allowed invoke: %v %+v", err, out)
	}
	for _, name := range []string{arn + ":$LATEST", "000000000000:function:shared"} {
		if err := call(b, name, ""); err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
	}
	if err := call(b, arn, types.InvocationTypeEvent); err != nil {
		t.Fatalf("allowed event invoke: %v", err)
	}
	denied(call(b, arn+":live", ""), "arn:aws:iam::222222222222:root", arn+":live")
	denied(call(c, arn, ""), "arn:aws:iam::333333333333:root", arn)

	// Account 333333333333 may invoke the alias only.
	if _, err := owner.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), Qualifier: aws.String("live"),
		StatementId: aws.String("c"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("arn:aws:iam::333333333333:root")}); err != nil {
		t.Fatal(err)
	}
	if err := call(c, arn+":live", ""); err != nil {
		t.Fatalf("alias invoke: %v", err)
	}
	denied(call(c, arn, ""), "arn:aws:iam::333333333333:root", arn)

	// A statement for services (with a source ARN) does not admit accounts.
	if _, err := owner.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("events"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
		SourceArn: aws.String("arn:aws:events:us-east-1:333333333333:rule/r")}); err != nil {
		t.Fatal(err)
	}
	denied(call(c, arn, ""), "arn:aws:iam::333333333333:root", arn)

	// Removing the permission takes effect at once.
	if _, err := owner.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	denied(call(b, arn, ""), "arn:aws:iam::222222222222:root", arn)
}
