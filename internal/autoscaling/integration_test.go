package autoscaling_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/fogbank/fogbank/internal/testenv"
)

// handlerZip is testdata/handler built as bootstrap and zipped.
var handlerZip []byte

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "autoscaling-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	_, zipped, err := testenv.BuildBootstrap(dir, "./testdata/handler")
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the test handler:", err)
		return 1
	}
	handlerZip = zipped
	return m.Run()
}

const (
	role      = "arn:aws:iam::000000000000:role/lambda-role"
	dimension = aastypes.ScalableDimensionLambdaFunctionProvisionedConcurrency
	namespace = aastypes.ServiceNamespaceLambda
)

func apiErr(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	if !strings.Contains(ae.ErrorMessage(), msgPart) {
		t.Fatalf("%s message %q does not contain %q", code, ae.ErrorMessage(), msgPart)
	}
}

// createAlias creates function name with version 1 and alias "live" on it.
func createAlias(t *testing.T, lc *lambda.Client, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &ltypes.FunctionCode{ZipFile: handlerZip},
		Timeout: aws.Int32(900)}); err != nil {
		t.Fatalf("create function: %v", err)
	}
	if _, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if _, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"),
		FunctionVersion: aws.String("1")}); err != nil {
		t.Fatalf("alias: %v", err)
	}
}

// waitFor calls step, then waits (briefly, polling) for cond, and repeats
// until cond holds. step moves the clock; nothing here asserts a duration.
func waitFor(t *testing.T, what string, step func(), cond func() bool) {
	t.Helper()
	waitForSettle(t, what, time.Second, step, cond)
}

// waitForSettle is waitFor polling for at most settle after each step.
func waitForSettle(t *testing.T, what string, settle time.Duration, step func(), cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if step != nil {
			step()
		}
		until := time.Now().Add(settle)
		for time.Now().Before(until) {
			if cond() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// holder is an HTTP endpoint the test function calls and waits on: it
// keeps invocations in flight until release.
type holder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	held    int
	release chan struct{}
}

func newHolder(t *testing.T) *holder {
	h := &holder{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.held++
		h.mu.Unlock()
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		w.Write([]byte("released"))
	}))
	t.Cleanup(func() {
		h.open()
		h.srv.Close()
	})
	return h
}

func (h *holder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

func (h *holder) open() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func provisioned(t *testing.T, lc *lambda.Client, name string) (int32, ltypes.ProvisionedConcurrencyStatusEnum) {
	t.Helper()
	out, err := lc.GetProvisionedConcurrencyConfig(context.Background(), &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(name), Qualifier: aws.String("live")})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ProvisionedConcurrencyConfigNotFoundException" {
			return 0, ""
		}
		t.Fatalf("get provisioned concurrency: %v", err)
	}
	return aws.ToInt32(out.RequestedProvisionedConcurrentExecutions), out.Status
}

func activities(t *testing.T, c *aas.Client, resource string) []aastypes.ScalingActivity {
	t.Helper()
	out, err := c.DescribeScalingActivities(context.Background(), &aas.DescribeScalingActivitiesInput{
		ServiceNamespace: namespace, ResourceId: aws.String(resource), ScalableDimension: dimension})
	if err != nil {
		t.Fatalf("describe activities: %v", err)
	}
	return out.ScalingActivities
}

// TestTargetTrackingScalesProvisionedConcurrency drives a provisioned
// alias with held invocations, advances the clock and watches Application
// Auto Scaling raise its provisioned concurrency, then lower it in steps
// once idle, after the 15-minute low alarm and the scale-in cooldown.
func TestTargetTrackingScalesProvisionedConcurrency(t *testing.T) {
	env := testenv.Start(t)
	clk := env.Server.Clock()
	lc := lambda.NewFromConfig(env.Config)
	c := aas.NewFromConfig(env.Config)
	ctx := context.Background()
	const fn = "scaled"
	const resource = "function:" + fn + ":live"
	createAlias(t, lc, fn)

	// Registering with MinCapacity 2 provisions 2 (capacity is brought
	// within the bounds, as AWS does).
	reg, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension, MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(6)})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(reg.ScalableTargetARN), "arn:aws:application-autoscaling:us-east-1:"+env.Account+":scalable-target/") {
		t.Fatalf("target ARN %q", aws.ToString(reg.ScalableTargetARN))
	}
	waitFor(t, "provisioned concurrency 2 READY", func() { clk.Advance(10 * time.Second) }, func() bool {
		n, st := provisioned(t, lc, fn)
		acts := activities(t, c, resource)
		return n == 2 && st == ltypes.ProvisionedConcurrencyStatusEnumReady && len(acts) == 1 &&
			acts[0].StatusCode == aastypes.ScalingActivityStatusCodeSuccessful
	})
	a := activities(t, c, resource)[0]
	if aws.ToString(a.Cause) != "minimum capacity was set to 2" || aws.ToString(a.Description) != "Setting desired concurrency to 2." {
		t.Fatalf("register activity: %+v", a)
	}
	// Lowering the minimum changes nothing (2 is within 1..6).
	if _, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension, MinCapacity: aws.Int32(1)}); err != nil {
		t.Fatalf("update target: %v", err)
	}

	pol, err := c.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("utilisation"), ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   aws.Float64(0.5),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeLambdaProvisionedConcurrencyUtilization},
			ScaleInCooldown:               aws.Int32(600),
			ScaleOutCooldown:              aws.Int32(0),
		}})
	if err != nil {
		t.Fatalf("put policy: %v", err)
	}
	if len(pol.Alarms) != 2 || !strings.Contains(aws.ToString(pol.Alarms[0].AlarmName), "AlarmHigh") ||
		!strings.Contains(aws.ToString(pol.PolicyARN), ":scalingPolicy:") {
		t.Fatalf("policy answer: %+v", pol)
	}

	// Two invocations held in flight: both provisioned environments busy,
	// utilisation 100 % against a 50 % target.
	h := newHolder(t)
	var inflight sync.WaitGroup
	for range 2 {
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Qualifier: aws.String("live"),
				Payload: []byte(`{"hold":"` + h.srv.URL + `"}`)})
			if err != nil || out.FunctionError != nil {
				t.Errorf("held invoke: %v %s", err, out.Payload)
			}
		}()
	}
	waitFor(t, "2 invocations in flight", nil, func() bool { return h.count() == 2 })
	loadStart := clk.Now()
	waitFor(t, "scale-out to 4", func() { clk.Advance(time.Minute) }, func() bool {
		n, _ := provisioned(t, lc, fn)
		return n == 4
	})
	waitFor(t, "scale-out activity to succeed", func() { clk.Advance(10 * time.Second) }, func() bool {
		return activities(t, c, resource)[0].StatusCode == aastypes.ScalingActivityStatusCodeSuccessful
	})
	out := activities(t, c, resource)[0]
	if aws.ToString(out.Description) != "Setting desired concurrency to 4." ||
		!strings.Contains(aws.ToString(out.Cause), "AlarmHigh") || !strings.Contains(aws.ToString(out.Cause), "triggered policy utilisation") ||
		!strings.Contains(aws.ToString(out.StatusMessage), "Successfully set desired concurrency to 4") {
		t.Fatalf("scale-out activity: %+v", out)
	}
	// AlarmHigh needs three one-minute datapoints above the target.
	if out.StartTime.Before(loadStart.Add(2 * time.Minute)) {
		t.Fatalf("scaled out at %v, less than 3 datapoints after the load started at %v", out.StartTime, loadStart)
	}

	// Idle: the low alarm needs 15 datapoints under 90 % of the target;
	// scale-in halves at most (4 -> 2), then waits for the cooldown (2 -> 1).
	h.open()
	inflight.Wait()
	idleStart := clk.Now()
	// The clock may run ahead of the scaler here: skipped minutes take the
	// value sampled on waking, and idle is steady.
	waitForSettle(t, "first scale-in", 200*time.Millisecond, func() { clk.Advance(time.Minute) }, func() bool {
		n, _ := provisioned(t, lc, fn)
		return n == 2
	})
	waitForSettle(t, "second scale-in", 200*time.Millisecond, func() { clk.Advance(time.Minute) }, func() bool {
		n, _ := provisioned(t, lc, fn)
		return n == 1
	})
	waitFor(t, "scale-in activities to succeed", func() { clk.Advance(10 * time.Second) }, func() bool {
		return activities(t, c, resource)[0].StatusCode == aastypes.ScalingActivityStatusCodeSuccessful
	})
	acts := activities(t, c, resource)
	if len(acts) != 4 {
		t.Fatalf("want 4 activities (register, out, in, in), got %d: %+v", len(acts), acts)
	}
	in2, in1 := acts[0], acts[1]
	if aws.ToString(in1.Description) != "Setting desired concurrency to 2." || aws.ToString(in2.Description) != "Setting desired concurrency to 1." ||
		!strings.Contains(aws.ToString(in1.Cause), "AlarmLow") {
		t.Fatalf("scale-in activities: %+v %+v", in1, in2)
	}
	if in1.StartTime.Before(idleStart.Add(14 * time.Minute)) {
		t.Fatalf("scaled in at %v, less than 15 low datapoints after idling from %v", in1.StartTime, idleStart)
	}
	if in2.StartTime.Before(in1.EndTime.Add(600 * time.Second)) {
		t.Fatalf("second scale-in at %v, within the 600 s cooldown after %v", in2.StartTime, in1.EndTime)
	}
}

func TestAPIAndValidation(t *testing.T) {
	env := testenv.Start(t)
	lc := lambda.NewFromConfig(env.Config)
	c := aas.NewFromConfig(env.Config)
	ctx := context.Background()
	createAlias(t, lc, "fn")
	const resource = "function:fn:live"

	register := func(ns aastypes.ServiceNamespace, res string, dim aastypes.ScalableDimension, minC, maxC *int32) error {
		_, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ResourceId: aws.String(res),
			ScalableDimension: dim, MinCapacity: minC, MaxCapacity: maxC})
		return err
	}
	unsupported := "Unsupported service namespace, resource type or scalable dimension"
	apiErr(t, register("ecs", "service/c/s", "ecs:service:DesiredCount", aws.Int32(1), aws.Int32(2)), "ValidationException", unsupported)
	apiErr(t, register(namespace, "function:fn", dimension, aws.Int32(1), aws.Int32(2)), "ValidationException", unsupported)
	apiErr(t, register(namespace, "function:fn:$LATEST", dimension, aws.Int32(1), aws.Int32(2)), "ValidationException", unsupported)
	apiErr(t, register("lambda", resource, "ecs:service:DesiredCount", aws.Int32(1), aws.Int32(2)), "ValidationException", unsupported)
	apiErr(t, register("nosuch", resource, dimension, aws.Int32(1), aws.Int32(2)), "ValidationException",
		"Value 'nosuch' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set: [ecs, ")
	apiErr(t, register(namespace, resource, dimension, aws.Int32(1), nil), "ValidationException", "MinCapacity and MaxCapacity are required")
	apiErr(t, register(namespace, resource, dimension, aws.Int32(3), aws.Int32(2)), "ValidationException", "Maximum capacity cannot be less than minimum capacity")

	policy := func(name string, typ aastypes.PolicyType, cfg *aastypes.TargetTrackingScalingPolicyConfiguration) error {
		_, err := c.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: namespace,
			ResourceId: aws.String(resource), ScalableDimension: dimension, PolicyType: typ, TargetTrackingScalingPolicyConfiguration: cfg})
		return err
	}
	tt := func(v float64, metric aastypes.MetricType) *aastypes.TargetTrackingScalingPolicyConfiguration {
		return &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(v),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: metric}}
	}
	apiErr(t, policy("p", aastypes.PolicyTypeTargetTrackingScaling, tt(0.7, aastypes.MetricTypeLambdaProvisionedConcurrencyUtilization)),
		"ObjectNotFoundException", "No scalable target registered for service namespace: lambda, resource ID: function:fn:live, scalable dimension: lambda:function:ProvisionedConcurrency")

	// Register (no provisioned concurrency needed: MinCapacity 0).
	if err := register(namespace, resource, dimension, aws.Int32(0), aws.Int32(5)); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := register(namespace, "function:fn:1", dimension, aws.Int32(0), aws.Int32(3)); err != nil {
		t.Fatalf("register version: %v", err)
	}
	apiErr(t, policy("p", aastypes.PolicyTypeTargetTrackingScaling, tt(0.95, aastypes.MetricTypeLambdaProvisionedConcurrencyUtilization)),
		"ValidationException", "between 0.1 and 0.9")
	apiErr(t, policy("p", aastypes.PolicyTypeTargetTrackingScaling, tt(0.7, aastypes.MetricTypeECSServiceAverageCPUUtilization)),
		"ValidationException", "ECSServiceAverageCPUUtilization")
	apiErr(t, policy("p", aastypes.PolicyTypeStepScaling, nil), "ValidationException", "Unsupported policy type StepScaling")
	if err := policy("p", aastypes.PolicyTypeTargetTrackingScaling, tt(0.7, aastypes.MetricTypeLambdaProvisionedConcurrencyUtilization)); err != nil {
		t.Fatalf("put policy: %v", err)
	}
	// The customized form of the same metric, with the Maximum statistic.
	_, err := c.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("max"), ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(0.6),
			CustomizedMetricSpecification: &aastypes.CustomizedMetricSpecification{Namespace: aws.String("AWS/Lambda"),
				MetricName: aws.String("ProvisionedConcurrencyUtilization"), Statistic: aastypes.MetricStatisticMaximum,
				Dimensions: []aastypes.MetricDimension{{Name: aws.String("FunctionName"), Value: aws.String("fn")},
					{Name: aws.String("Resource"), Value: aws.String("fn:live")}}}}})
	if err != nil {
		t.Fatalf("put customized policy: %v", err)
	}

	pols, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: namespace, ResourceId: aws.String(resource)})
	if err != nil || len(pols.ScalingPolicies) != 2 {
		t.Fatalf("describe policies: %v %+v", err, pols)
	}
	p := pols.ScalingPolicies[1]
	if aws.ToString(p.PolicyName) != "p" || p.PolicyType != aastypes.PolicyTypeTargetTrackingScaling || len(p.Alarms) != 2 ||
		aws.ToFloat64(p.TargetTrackingScalingPolicyConfiguration.TargetValue) != 0.7 || p.CreationTime == nil {
		t.Fatalf("policy: %+v", p)
	}

	targets, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: namespace, MaxResults: aws.Int32(1)})
	if err != nil || len(targets.ScalableTargets) != 1 || targets.NextToken == nil {
		t.Fatalf("describe targets page 1: %v %+v", err, targets)
	}
	page2, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: namespace, MaxResults: aws.Int32(1), NextToken: targets.NextToken})
	if err != nil || len(page2.ScalableTargets) != 1 || page2.NextToken != nil ||
		aws.ToString(page2.ScalableTargets[0].ResourceId) == aws.ToString(targets.ScalableTargets[0].ResourceId) {
		t.Fatalf("describe targets page 2: %v %+v", err, page2)
	}
	one, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: namespace, ResourceIds: []string{resource}})
	if err != nil || len(one.ScalableTargets) != 1 {
		t.Fatalf("describe target: %v %+v", err, one)
	}
	tg := one.ScalableTargets[0]
	if aws.ToInt32(tg.MinCapacity) != 0 || aws.ToInt32(tg.MaxCapacity) != 5 || tg.CreationTime == nil ||
		!strings.Contains(aws.ToString(tg.RoleARN), "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency") {
		t.Fatalf("target: %+v", tg)
	}
	ecs, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: "ecs"})
	if err != nil || len(ecs.ScalableTargets) != 0 {
		t.Fatalf("describe ecs targets: %v %+v", err, ecs)
	}

	// Tags on the target ARN.
	arn := tg.ScalableTargetARN
	if _, err := c.TagResource(ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"team": "a", "env": "ci"}}); err != nil {
		t.Fatalf("tag: %v", err)
	}
	if _, err := c.UntagResource(ctx, &aas.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatalf("untag: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Fatalf("tags: %v %+v", err, tags)
	}

	// Not implemented operations answer so.
	_, err = c.PutScheduledAction(ctx, &aas.PutScheduledActionInput{ServiceNamespace: namespace, ResourceId: aws.String(resource),
		ScalableDimension: dimension, ScheduledActionName: aws.String("s"), Schedule: aws.String("rate(1 hour)")})
	apiErr(t, err, "NotImplemented", "PutScheduledAction")
	sched, err := c.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: namespace})
	if err != nil || len(sched.ScheduledActions) != 0 {
		t.Fatalf("describe scheduled actions: %v %+v", err, sched)
	}

	// Delete and deregister.
	_, err = c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("nope"), ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension})
	apiErr(t, err, "ObjectNotFoundException", "No scaling policy found for service namespace: lambda, resource ID: function:fn:live")
	if _, err := c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("max"), ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension}); err != nil {
		t.Fatalf("delete policy: %v", err)
	}
	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension}); err != nil {
		t.Fatalf("deregister: %v", err)
	}
	_, err = c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: namespace,
		ResourceId: aws.String(resource), ScalableDimension: dimension})
	apiErr(t, err, "ObjectNotFoundException", "No scalable target registered")
	// Deregistering deleted the target's policies.
	pols, err = c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: namespace})
	if err != nil || len(pols.ScalingPolicies) != 0 {
		t.Fatalf("policies after deregister: %v %+v", err, pols)
	}
}
