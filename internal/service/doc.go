// Package service defines the contract between the front door
// (internal/server) and each AWS service package: the Service interface a
// service implements, the routing keys it declares, and the per-request Call
// that carries the authenticated identity into the service and the outcome
// (operation, parameters, error) back out to the activity trail and metrics.
package service
