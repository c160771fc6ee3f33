// Command processor is the activity-monitoring example's Lambda function
// (runtime provided.al2023, handler bootstrap). It is invoked by SQS event
// source mappings on the central account's priority and standard queues;
// each record's body is an "AWS API Call via CloudTrail" event forwarded
// from a source account. It turns each record into a finding and publishes
// the findings to the central bus with PutEvents, reporting the records
// whose finding could not be published as batch item failures so that SQS
// delivers them again.
//
// Environment: FINDINGS_BUS (the bus findings go to), PRIORITY_QUEUE_ARN
// (records from this queue are security changes). AWS_ENDPOINT_URL, the
// region and the execution role's credentials come from the runtime.
package main
