// Command handler is an aws-lambda-go function for the autoscaling
// package's tests. With {"hold": URL} it calls URL and answers when the
// test's server answers, so a test keeps exactly as many invocations in
// flight as it wants, for as long as it wants, without timing.
package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Hold string `json:"hold"`
}

func handle(ctx context.Context, raw json.RawMessage) (string, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	if ev.Hold == "" {
		return "ok", nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ev.Hold, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func main() { lambda.Start(handle) }
