// Package iampolicy parses and evaluates AWS IAM policy documents as the
// services that own resource policies (SQS queue policies, EventBridge bus
// policies, Lambda function policies, S3 bucket policies, ...) use them.
//
// Parse reads a document (Version, Id, Statement as an object or an array;
// per statement Sid, Effect, Principal/NotPrincipal, Action/NotAction,
// Resource/NotResource and Condition) and reports grammar errors as
// *ValidationError with IAM's wording; each service maps those to its own
// error code. Evaluate applies AWS's evaluation logic to one request: an
// explicit Deny wins, otherwise an Allow is needed, otherwise the decision
// is an implicit deny. Conditions support the string, ARN, numeric, date,
// Bool, BinaryEquals, IP address and Null operators, the IfExists suffix and
// the ForAnyValue/ForAllValues set qualifiers, and policy variables
// (${aws:username}, ${*}, ...) in Resource and condition values of
// 2012-10-17 documents.
//
// How a decision combines with identity policies and account boundaries is
// the caller's business: see Decision.
package iampolicy
