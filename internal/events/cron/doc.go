// Package cron parses EventBridge schedule expressions — rate(value unit)
// and the six-field AWS cron(minutes hours day-of-month month day-of-week
// year) syntax with its ? L W and # extensions, evaluated in UTC — and
// computes their next fire times.
package cron
