package sqs

import (
	"fmt"
	"net/http"

	"github.com/fogbank/fogbank/internal/protocol"
)

// SQS is an awsQuery-compatible service: JSON clients see Code (the error
// shape name) and the legacy query code in the X-Amzn-Query-Error header;
// query clients see QueryCode. The table below keeps both, with AWS's
// messages.

func sqsErr(code, queryCode string, status int, format string, args ...any) *protocol.Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &protocol.Error{Code: code, QueryCode: queryCode, Status: status, Message: msg}
}

// msgNonExistentQueue is what JSON clients read; query clients read the
// older wording (see queryMessage).
const (
	msgNonExistentQueue      = "The specified queue does not exist."
	msgNonExistentQueueQuery = "The specified queue does not exist for this wsdl version."
	codeNonExistentQueue     = "AWS.SimpleQueueService.NonExistentQueue"
)

func errQueueDoesNotExist() *protocol.Error {
	return sqsErr("QueueDoesNotExist", codeNonExistentQueue, http.StatusBadRequest, msgNonExistentQueue)
}

func errQueueDeletedRecently() *protocol.Error {
	return sqsErr("QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest,
		"You must wait 60 seconds after deleting a queue before you can create another with the same name.")
}

func errInvalidParameter(format string, args ...any) *protocol.Error {
	return sqsErr("InvalidParameterValueException", "InvalidParameterValue", http.StatusBadRequest, format, args...)
}

// errInvalidValue is "Value <v> for parameter <p> is invalid. Reason: <r>".
func errInvalidValue(value, param, reason string) *protocol.Error {
	if reason == "" {
		return errInvalidParameter("Value %s for parameter %s is invalid.", value, param)
	}
	return errInvalidParameter("Value %s for parameter %s is invalid. Reason: %s", value, param, reason)
}

func errMissingParameter(name string) *protocol.Error {
	return sqsErr("MissingRequiredParameterException", "MissingParameter", http.StatusBadRequest,
		"The request must contain the parameter %s.", name)
}

func errQueueNameExists(attr string) *protocol.Error {
	return sqsErr("QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest,
		"A queue already exists with the same name and a different value for attribute %s", attr)
}

func errInvalidAttributeName(format string, args ...any) *protocol.Error {
	return sqsErr("InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest, format, args...)
}

func errUnknownAttribute(name string) *protocol.Error {
	return errInvalidAttributeName("Unknown Attribute %s.", name)
}

func errInvalidAttributeValue(format string, args ...any) *protocol.Error {
	return sqsErr("InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest, format, args...)
}

// errPolicyValue rejects a policy-document attribute (RedrivePolicy,
// RedriveAllowPolicy) with the reason SQS gives.
func errPolicyValue(attr, value, reason string) *protocol.Error {
	return errInvalidAttributeValue("Value %s for parameter %s is invalid. Reason: %s", value, attr, reason)
}

func errTooManyEntries(n int) *protocol.Error {
	return sqsErr("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest,
		"Maximum number of entries per request are 10. You have sent %d.", n)
}

func errEmptyBatch(entry string) *protocol.Error {
	return sqsErr("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest,
		"There should be at least one %s in the request.", entry)
}

func errInvalidBatchEntryID() *protocol.Error {
	return sqsErr("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest,
		"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
}

func errBatchIDsNotDistinct(id string) *protocol.Error {
	return sqsErr("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest,
		"Id %s repeated.", id)
}

func errBatchTooLong(n int) *protocol.Error {
	return sqsErr("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest,
		"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxBatchBytes, n)
}

func errReceiptHandleInvalid(h string) *protocol.Error {
	return sqsErr("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusBadRequest,
		"The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

const msgInvalidChars = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

func errInvalidMessageContents() *protocol.Error {
	return sqsErr("InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest, msgInvalidChars)
}

func errPurgeInProgress(name string) *protocol.Error {
	return sqsErr("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden,
		"Only one PurgeQueue operation on %s is allowed every 60 seconds.", name)
}

func errResourceNotFound(msg string) *protocol.Error {
	return sqsErr("ResourceNotFoundException", "ResourceNotFoundException", http.StatusNotFound, "%s", msg)
}

// errInvalidQueryAction is SQS's answer to an unknown query Action.
func errInvalidQueryAction(action string) *protocol.Error {
	return sqsErr("InvalidAction", "InvalidAction", http.StatusBadRequest, "The action %s is not valid for this endpoint.", action)
}

// queryMessage adjusts a message to the wording query clients get.
func queryMessage(e *protocol.Error) *protocol.Error {
	if e.QueryCode == codeNonExistentQueue && e.Message == msgNonExistentQueue {
		c := *e
		c.Message = msgNonExistentQueueQuery
		return &c
	}
	return e
}
