// Package events is Fogbank's Amazon EventBridge: event buses and their
// resource policies, rules (event patterns and schedules), targets,
// PutEvents with AWS's event envelope, durable asynchronous delivery with
// retry policies and dead-letter queues (SQS queues, other buses in any
// account or region, Lambda functions, API destinations), the activity trail
// on every account's default bus, archives and replays, connections and API
// destinations. Resources live in storage.Meta (namespaces "events.*"),
// pending deliveries in storage.Queues (queues "events/..."), archived events
// in storage.Logs.
package events
