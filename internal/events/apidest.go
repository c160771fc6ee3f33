package events

import "context"

// deliverAPIDestination invokes an API destination target. API destinations
// and connections are not implemented yet, so no API destination exists and
// the invocation fails as AWS's does for a missing resource.
func (s *Service) deliverAPIDestination(ctx context.Context, t *task, a arn, input []byte) *deliveryError {
	return fatal("NO_RESOURCE", "API destination %s does not exist.", t.Target.Arn)
}
