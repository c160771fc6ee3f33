// Command activity-monitoring is Fogbank's first seed architecture,
// multi-account activity monitoring, as a runnable example. Pointed at a
// running Fogbank (AWS_ENDPOINT_URL, default http://localhost:4566) it
// creates a central account and several source accounts through Fogbank's
// admin API, then sets up and drives the whole flow with the AWS SDK for
// Go v2:
//
//	API calls in each source account
//	  → the activity trail puts "AWS API Call via CloudTrail" events on the account's default bus
//	  → a filtering rule in the source account forwards the interesting ones
//	  → to the central account's bus (its resource policy allows the source accounts)
//	  → classification rules: security changes to a priority queue, the rest to a standard queue
//	  → SQS event source mappings invoke the processor Lambda function (./processor)
//	  → which publishes findings to the central bus (PutEvents)
//	  → a rule routes findings to a findings queue, which this program reads.
//
// It prints what flows and exits 0 when exactly the expected findings
// arrived, 1 otherwise (or when -timeout passes). Setup is idempotent, so
// it can run again against the same server; each run's resources carry a
// fresh run id.
package main
