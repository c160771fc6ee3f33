// Package lambda serves the AWS Lambda API (restJson1, signing name
// "lambda"): functions and their code, versions and aliases, synchronous,
// asynchronous and dry-run invocations, reserved and provisioned
// concurrency, event invoke configurations with SQS, Lambda and EventBridge
// destinations and dead-letter queues, SQS event source mappings, function
// URLs, layers, resource policies, tags and account settings.
//
// Invoke from another account is authorized by the function's resource
// policy (see authorizeInvoke); callers in the function's account are
// allowed, as identity policies are not modelled. EventBridge destinations
// go through the narrow EventBus interface (the server adapts the events
// service to it), so Lambda never reads EventBridge's storage.
//
// Function URLs are served at <url-id>.lambda-url.<region>.<host> (the
// front door routes such hosts here, see UnsignedOperation) and at the path
// form FunctionURLPathPrefix; GetFunction's Code.Location and layer
// Content.Location are presigned, time-limited download URLs.
//
// The data plane (Invoke, async delivery, event source batches, function
// URLs) reads configuration through an in-memory cache that every write
// through the service invalidates; changes made behind its back are seen
// within a second, or at once after Invalidate.
//
// Functions run in internal/funcrt execution environments (one
// funcrt.Manager per function version and configuration revision); their
// output goes to CloudWatch Logs through the narrow LogWriter interface.
//
// # Time
//
// Control-plane timestamps, async retry delays (1 min, then 2 min), the
// maximum event age, throttle back-off and event source batching windows
// all run on the injected clock.Clock, so an accelerated or hand-advanced
// server clock moves them. Function timeouts do not: a function runs in
// real time, so funcrt enforces Timeout with real timers (see the funcrt
// package documentation); a server at 60x speed still lets a 3 s function
// run for 3 real seconds.
package lambda
