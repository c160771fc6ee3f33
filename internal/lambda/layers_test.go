package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestLayersAndCodeLocation(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	ctx := context.Background()

	_, err := c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("libs"),
		Content: &types.LayerVersionContentInput{ZipFile: zipOf(t, map[string]string{"x": "y"})}, CompatibleRuntimes: []types.Runtime{"invalidruntime"}})
	apiErr(t, err, "ValidationException")
	var pub [2]*lambda.PublishLayerVersionOutput
	for i, text := range []string{"one", "two"} {
		pub[i], err = c.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("libs"), Description: aws.String(text),
			Content:            &types.LayerVersionContentInput{ZipFile: zipOf(t, map[string]string{"data/greeting.txt": "hello from layer " + text})},
			CompatibleRuntimes: []types.Runtime{types.RuntimeProvidedal2023}, CompatibleArchitectures: []types.Architecture{types.ArchitectureX8664}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if pub[1].Version != 2 || aws.ToString(pub[1].LayerVersionArn) != "arn:aws:lambda:us-east-1:"+env.Account+":layer:libs:2" {
		t.Fatalf("publish: %d %s", pub[1].Version, aws.ToString(pub[1].LayerVersionArn))
	}
	// Content.Location downloads the layer zip without signing.
	if st, b := httpGet(t, aws.ToString(pub[0].Content.Location)); st != 200 || !bytes.HasPrefix(b, []byte("PK")) {
		t.Fatalf("layer location: %d", st)
	}
	got, err := c.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: pub[0].LayerVersionArn})
	if err != nil || aws.ToString(got.Description) != "one" {
		t.Fatalf("by arn: %v", err)
	}
	_, err = c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(0)})
	apiErr(t, err, "InvalidParameterValueException")
	_, err = c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(9)})
	apiErr(t, err, "ResourceNotFoundException")
	layers, err := c.ListLayers(ctx, &lambda.ListLayersInput{})
	if err != nil || len(layers.Layers) != 1 || layers.Layers[0].LatestMatchingVersion.Version != 2 {
		t.Fatalf("list layers: %+v %v", layers, err)
	}
	vers, err := c.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("libs")})
	if err != nil || len(vers.LayerVersions) != 2 || vers.LayerVersions[0].Version != 2 {
		t.Fatalf("list versions: %+v %v", vers, err)
	}

	// Permissions.
	_, err = c.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)})
	apiErr(t, err, "ResourceNotFoundException")
	if _, err := c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1),
		StatementId: aws.String("s1"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddLayerVersionPermission(ctx, &lambda.AddLayerVersionPermissionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1),
		StatementId: aws.String("s1"), Action: aws.String("lambda:GetLayerVersion"), Principal: aws.String("*")})
	apiErr(t, err, "ResourceConflictException")
	pol, err := c.GetLayerVersionPolicy(ctx, &lambda.GetLayerVersionPolicyInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1)})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"s1"`) {
		t.Fatalf("policy: %v", err)
	}
	if _, err := c.RemoveLayerVersionPermission(ctx, &lambda.RemoveLayerVersionPermissionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(1), StatementId: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}

	// Functions get their layers under FOGBANK_OPT_DIR.
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bad"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: handlerZip}, Layers: []string{aws.ToString(pub[0].LayerVersionArn), aws.ToString(pub[1].LayerVersionArn)}})
	apiErr(t, err, "InvalidParameterValueException")
	createFn(t, c, "withlayer", func(in *lambda.CreateFunctionInput) { in.Layers = []string{aws.ToString(pub[0].LayerVersionArn)} })
	if res := invoke(t, c, "withlayer", `{"action":"opt","message":"data/greeting.txt"}`, nil); string(res.Payload) != `"hello from layer one"` {
		t.Fatalf("layer file: %s", res.Payload)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("withlayer"), Layers: []string{aws.ToString(pub[1].LayerVersionArn)}}); err != nil {
		t.Fatal(err)
	}
	if res := invoke(t, c, "withlayer", `{"action":"opt","message":"data/greeting.txt"}`, nil); string(res.Payload) != `"hello from layer two"` {
		t.Fatalf("layer file after update: %s", res.Payload)
	}
	fc, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("withlayer")})
	if err != nil || len(fc.Layers) != 1 || aws.ToString(fc.Layers[0].Arn) != aws.ToString(pub[1].LayerVersionArn) {
		t.Fatalf("config layers: %+v %v", fc, err)
	}
	// Deleting a version answers 204, even twice; a function using it keeps working.
	for range 2 {
		if _, err := c.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(2)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("libs"), VersionNumber: aws.Int64(2)})
	apiErr(t, err, "ResourceNotFoundException")
	if res := invoke(t, c, "withlayer", `{"action":"opt","message":"data/greeting.txt"}`, nil); string(res.Payload) != `"hello from layer two"` {
		t.Fatalf("after layer delete: %s", res.Payload)
	}

	// GetFunction's Code.Location: presigned, time-limited, no signing needed.
	gf, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("withlayer")})
	if err != nil {
		t.Fatal(err)
	}
	loc := aws.ToString(gf.Code.Location)
	if st, b := httpGet(t, loc); st != 200 || !bytes.Equal(b, handlerZip) {
		t.Fatalf("code location: %d %d bytes", st, len(b))
	}
	if st, _ := httpGet(t, strings.Replace(loc, "Signature=", "Signature=0", 1)); st != http.StatusForbidden {
		t.Fatalf("tampered location: %d", st)
	}
	env.Admin(t, "POST", "/_fogbank/clock/advance?by=11m", nil, nil)
	if st, _ := httpGet(t, loc); st != http.StatusForbidden {
		t.Fatalf("expired location: %d", st)
	}
}
