// Package server is Fogbank's front door: one HTTP listener that routes each
// request to a service (by X-Amz-Target, SigV4 credential scope, query
// Version, host and path), authenticates it with SigV4, gives the service a
// service.Call, and afterwards records the call in the activity trail and in
// Prometheus metrics. It also wires the shared engines (storage, clock,
// identity, trail) into the service list and serves the admin endpoints
// under /_fogbank/.
package server
