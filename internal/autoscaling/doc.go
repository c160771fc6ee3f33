// Package autoscaling serves Application Auto Scaling (awsJson1_1,
// X-Amz-Target prefix AnyScaleFrontendService, signing name
// "application-autoscaling") for one kind of scalable target: Lambda
// provisioned concurrency (service namespace "lambda", resource ID
// "function:<name>:<alias-or-version>", scalable dimension
// "lambda:function:ProvisionedConcurrency"). Other namespaces are refused
// with AWS's "Unsupported service namespace, resource type or scalable
// dimension" ValidationException.
//
// Scalable targets and scaling policies are metadata records; scaling
// activities are records too, kept for six weeks as AWS keeps them. The
// scaler is a background loop on the injected clock that plays the part
// of the CloudWatch alarms a target tracking policy creates: every
// sampleEvery it reads the qualifier's provisioned concurrency in use from
// Lambda (the Lambda interface), folds the samples into one-minute
// datapoints (Average statistic for the predefined metric, or the
// statistic of a customized ProvisionedConcurrencyUtilization metric),
// and once a minute evaluates the two alarms AWS creates: AlarmHigh
// (3 datapoints above the target) and AlarmLow (15 datapoints below 90 %
// of the target). Scale-out sets ceil(in-use / target) — that is
// ceil(current × utilisation / target) — within MinCapacity and
// MaxCapacity; scale-in uses the highest in-use of the 15-minute window,
// removes at most half the capacity in one activity, never goes below
// MinCapacity and waits for ScaleInCooldown (and ScaleOutCooldown) after
// the last activity of each kind. A scale-out is not held back by its
// cooldown: it only ever raises capacity to what the in-use count needs,
// AWS's "continuously but not excessively". An activity is InProgress until
// Lambda reports the configuration READY (Successful) or FAILED (Failed).
//
// When a node's clock jumps (a manual clock advance), the minutes skipped
// get the value sampled on waking, so tests can drive the alarms by
// advancing the clock while the load they create is steady.
package autoscaling
