package logs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

func TestLogsAPI(t *testing.T) {
	env := testenv.Start(t)
	c := cloudwatchlogs.NewFromConfig(env.Config)
	ctx := context.Background()
	g, s := aws.String("/app/one"), aws.String("stream-1")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: g})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("want ResourceAlreadyExistsException, got %v", err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: g, LogStreamName: s}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	_, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: []types.InputLogEvent{
		{Timestamp: aws.Int64(now), Message: aws.String("second")}, {Timestamp: aws.Int64(now - 5), Message: aws.String("first")}}})
	var inv *types.InvalidParameterException
	if !errors.As(err, &inv) {
		t.Fatalf("want InvalidParameterException for unordered events, got %v", err)
	}
	var evs []types.InputLogEvent
	for i, m := range []string{"INFO start", "ERROR boom", `{"level":"error","n":3}`, "INFO done"} {
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(m)})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, StartFromHead: aws.Bool(true), Limit: aws.Int32(3)})
	if err != nil || len(got.Events) != 3 || aws.ToString(got.Events[0].Message) != "INFO start" {
		t.Fatalf("get: %+v %v", got, err)
	}
	more, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s, NextToken: got.NextForwardToken})
	if err != nil || len(more.Events) != 1 || aws.ToString(more.Events[0].Message) != "INFO done" {
		t.Fatalf("next page: %+v %v", more, err)
	}
	f, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String("ERROR")})
	if err != nil || len(f.Events) != 1 || aws.ToString(f.Events[0].LogStreamName) != "stream-1" {
		t.Fatalf("filter: %+v %v", f, err)
	}
	f, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ $.n >= 3 }`)})
	if err != nil || len(f.Events) != 1 {
		t.Fatalf("json filter: %+v %v", f, err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: g, RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	dg, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/app")})
	if err != nil || len(dg.LogGroups) != 1 || aws.ToInt32(dg.LogGroups[0].RetentionInDays) != 7 {
		t.Fatalf("describe groups: %+v %v", dg, err)
	}
	ds, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g})
	if err != nil || len(ds.LogStreams) != 1 || ds.LogStreams[0].LastIngestionTime == nil {
		t.Fatalf("describe streams: %+v %v", ds, err)
	}
	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: s})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("want ResourceNotFoundException, got %v", err)
	}
}
