package protocol

import (
	"context"
	"net/http"

	"github.com/fogbank/fogbank/internal/service"
)

// JSONOp is one operation of an awsJson service whose handlers take the
// request body and return the value to encode.
type JSONOp struct {
	// ReadOnly marks the operation's trail record readOnly.
	ReadOnly bool
	// Fn runs the operation.
	Fn func(ctx context.Context, call *service.Call, body []byte) (any, error)
}

// ServeJSONOps runs the operation the front door recorded in the request's
// Call: an unknown name is UnknownOperationException, the body is read up
// to maxBody bytes (0: DefaultMaxBody), and the result or
// error is written in c's protocol.
func (c Codec) ServeJSONOps(w http.ResponseWriter, r *http.Request, ops map[string]JSONOp, maxBody int64) {
	call := service.CallFrom(r.Context())
	o, ok := ops[call.Operation]
	if !ok {
		c.WriteError(w, r, UnknownOperation(call.Operation))
		return
	}
	call.ReadOnly = o.ReadOnly
	body, err := ReadBody(r, maxBody)
	if err != nil {
		c.WriteError(w, r, err)
		return
	}
	out, err := o.Fn(r.Context(), call, body)
	if err != nil {
		c.WriteError(w, r, err)
		return
	}
	c.WriteJSON(w, http.StatusOK, out)
}
