// Package cloudtrail serves the CloudTrail API over the activity trail
// (internal/trail): LookupEvents with lookup attributes, time range and
// pagination. Trails, event data stores and Lake queries are not served.
package cloudtrail
