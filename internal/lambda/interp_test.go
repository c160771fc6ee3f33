package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

// zipFiles builds a deployment package from name → content.
func zipFiles(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const pyFunction = `import json

def handler(event, context):
    print("python says", json.dumps(event, sort_keys=True))
    if event.get("fail"):
        raise ValueError("python failure")
    return {"got": event, "fn": context.function_name, "rid": context.aws_request_id}
`

const nodeFunction = `export const handler = async (event, context) => {
  console.log('node says', JSON.stringify(event));
  if (event.fail) {
    throw new TypeError('node failure');
  }
  return { got: event, fn: context.functionName, rid: context.awsRequestId };
};
`

func TestInterpretedRuntimes(t *testing.T) {
	for _, tc := range []struct {
		name, interp, runtime, handler string
		files                          map[string]string
		says, errType, errMsg, trace   string
	}{
		{"python", "python3", "python3.12", "lambda_function.handler", map[string]string{"lambda_function.py": pyFunction},
			`python says {"x": 1}`, "ValueError", "python failure", "stackTrace"},
		{"node", "node", "nodejs20.x", "index.handler", map[string]string{"index.mjs": nodeFunction},
			`node says {"x":1}`, "TypeError", "node failure", "trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.interp); err != nil {
				t.Skipf("%s is not on PATH: %s functions cannot run here", tc.interp, tc.runtime)
			}
			env := testenv.Start(t)
			c := lambda.NewFromConfig(env.Config)
			ctx := context.Background()
			name := "interp-" + tc.name
			createFn(t, c, name, func(in *lambda.CreateFunctionInput) {
				in.Runtime = types.Runtime(tc.runtime)
				in.Handler = aws.String(tc.handler)
				in.Code = &types.FunctionCode{ZipFile: zipFiles(t, tc.files)}
				in.Timeout = aws.Int32(30)
			})

			res := invoke(t, c, name, `{"x":1}`, func(in *lambda.InvokeInput) { in.LogType = types.LogTypeTail })
			if res.FunctionError != nil {
				t.Fatalf("function error %s: %s", aws.ToString(res.FunctionError), res.Payload)
			}
			var got struct {
				Got map[string]any `json:"got"`
				Fn  string         `json:"fn"`
				Rid string         `json:"rid"`
			}
			if err := json.Unmarshal(res.Payload, &got); err != nil || got.Got["x"] != float64(1) || got.Fn != name {
				t.Fatalf("payload %s (%v)", res.Payload, err)
			}
			if rid, _ := awsmw.GetRequestIDMetadata(res.ResultMetadata); got.Rid != rid {
				t.Errorf("context request id %q, response's %q", got.Rid, rid)
			}
			tail, err := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
			if err != nil || !strings.Contains(string(tail), tc.says) || !strings.Contains(string(tail), "REPORT RequestId: "+got.Rid) {
				t.Errorf("log tail lacks the function's output:\n%s", tail)
			}

			res = invoke(t, c, name, `{"fail":true}`, nil)
			if aws.ToString(res.FunctionError) != "Unhandled" {
				t.Fatalf("X-Amz-Function-Error %q, payload %s", aws.ToString(res.FunctionError), res.Payload)
			}
			var doc map[string]any
			if err := json.Unmarshal(res.Payload, &doc); err != nil || doc["errorType"] != tc.errType || doc["errorMessage"] != tc.errMsg {
				t.Fatalf("error payload %s", res.Payload)
			}
			if _, ok := doc[tc.trace].([]any); !ok {
				t.Errorf("error payload without %s: %s", tc.trace, res.Payload)
			}

			lc := cloudwatchlogs.NewFromConfig(env.Config)
			testenv.Eventually(t, 10*time.Second, func() bool {
				ev, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + name),
					FilterPattern: aws.String(`"` + strings.Fields(tc.says)[0] + ` says"`)})
				return err == nil && len(ev.Events) >= 2
			}, "the function's output in /aws/lambda/%s", name)
		})
	}
}

func TestInterpretedRuntimeInitErrors(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: python functions cannot run here")
	}
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	createFn(t, c, "no-module", func(in *lambda.CreateFunctionInput) {
		in.Runtime = types.RuntimePython312
		in.Handler = aws.String("missing.handler")
		in.Code = &types.FunctionCode{ZipFile: zipFiles(t, map[string]string{"other.py": "x = 1\n"})}
	})
	res := invoke(t, c, "no-module", `{}`, nil)
	var doc map[string]any
	if err := json.Unmarshal(res.Payload, &doc); err != nil || aws.ToString(res.FunctionError) != "Unhandled" ||
		doc["errorType"] != "Runtime.ImportModuleError" || doc["errorMessage"] != "Unable to import module 'missing': No module named 'missing'" {
		t.Fatalf("function error %q, payload %s", aws.ToString(res.FunctionError), res.Payload)
	}
}

func TestInterpreterMissing(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	createFn(t, c, "no-python", func(in *lambda.CreateFunctionInput) {
		in.Runtime = types.RuntimePython312
		in.Handler = aws.String("app.handler")
		in.Code = &types.FunctionCode{ZipFile: zipFiles(t, map[string]string{"app.py": "def handler(e, c):\n    return 1\n"})}
	})
	t.Setenv("PATH", t.TempDir()) // the runtime is looked up when the function first runs
	res := invoke(t, c, "no-python", `{}`, nil)
	var doc map[string]any
	if err := json.Unmarshal(res.Payload, &doc); err != nil || aws.ToString(res.FunctionError) != "Unhandled" ||
		doc["errorType"] != "Runtime.InvalidEntrypoint" {
		t.Fatalf("function error %q, payload %s", aws.ToString(res.FunctionError), res.Payload)
	}
	if msg, _ := doc["errorMessage"].(string); !strings.Contains(msg, "no python3.12 or python3 interpreter on the Fogbank host's PATH") {
		t.Errorf("errorMessage %q does not name the missing interpreter", msg)
	}
}
