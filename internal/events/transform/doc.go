// Package transform implements the input shaping of EventBridge targets:
// the JSONPath subset of InputPath and InputPathsMap, and the InputTemplate
// renderer of InputTransformer with AWS's quoting rules and the predefined
// <aws.events.*> variables.
package transform
