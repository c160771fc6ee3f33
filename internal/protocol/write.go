package protocol

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/fogbank/fogbank/internal/service"
)

// Kind names a wire protocol.
type Kind int

// The protocols Fogbank serves.
const (
	AWSJSON10 Kind = iota + 1
	AWSJSON11
	RESTJSON
	AWSQuery
	RESTXML
)

// String returns the Smithy name of the protocol.
func (k Kind) String() string {
	switch k {
	case AWSJSON10:
		return "awsJson1_0"
	case AWSJSON11:
		return "awsJson1_1"
	case RESTJSON:
		return "restJson1"
	case AWSQuery:
		return "awsQuery"
	case RESTXML:
		return "restXml"
	}
	return "unknown"
}

// Codec writes responses and errors in one protocol for one service.
type Codec struct {
	Kind Kind
	// Namespace prefixes awsJson error types ("com.amazonaws.sqs" gives
	// "com.amazonaws.sqs#QueueDoesNotExist"); empty: the bare code.
	Namespace string
	// XMLNS is the awsQuery/restXml document namespace.
	XMLNS string
	// Logger receives internal failures; nil discards them.
	Logger *slog.Logger
}

// ContentType returns the response Content-Type of the protocol.
func (c Codec) ContentType() string {
	switch c.Kind {
	case AWSJSON10:
		return "application/x-amz-json-1.0"
	case AWSJSON11:
		return "application/x-amz-json-1.1"
	case RESTJSON:
		return "application/json"
	default:
		return "text/xml"
	}
}

// WriteJSON writes v as a JSON response with the given status (awsJson and
// restJson). A nil v writes "{}".
func (c Codec) WriteJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v == nil {
		body = []byte("{}")
	} else {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			c.logInternal("encode response", err)
			body, _ = json.Marshal(map[string]string{"__type": "InternalFailure", "message": InternalFailure().Message})
			status = 500
		} else {
			body = bytes.TrimRight(buf.Bytes(), "\n")
		}
	}
	h := w.Header()
	h.Set("Content-Type", c.ContentType())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// WriteQuery writes an awsQuery response document:
// <ActionResponse><ActionResult>result</ActionResult><ResponseMetadata>…
// A nil result omits the Result element (as AWS does for actions without
// output). result is marshalled with encoding/xml as the Result element's
// content, so its fields carry the xml tags.
func (c Codec) WriteQuery(w http.ResponseWriter, r *http.Request, action string, result any) {
	// The envelope is written directly (what xml.Encoder writes for these
	// tokens); only the result goes through encoding/xml.
	var buf bytes.Buffer
	buf.Grow(512)
	buf.WriteString(`<?xml version="1.0"?><`)
	buf.WriteString(action)
	buf.WriteString("Response")
	if c.XMLNS != "" {
		buf.WriteString(` xmlns="`)
		xmlEscape(&buf, c.XMLNS)
		buf.WriteByte('"')
	}
	buf.WriteByte('>')
	if result != nil {
		enc := xml.NewEncoder(&buf)
		err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
		if err == nil {
			err = enc.Flush()
		}
		if err != nil {
			c.logInternal("encode query response", err)
			c.WriteError(w, r, InternalFailure())
			return
		}
	}
	buf.WriteString("<ResponseMetadata><RequestId>")
	xmlEscape(&buf, requestID(r))
	buf.WriteString("</RequestId></ResponseMetadata></")
	buf.WriteString(action)
	buf.WriteString("Response>")
	writeXMLBytes(w, http.StatusOK, buf.Bytes())
}

// xmlEscape writes s escaped as xml.Encoder escapes attribute values and
// character data.
func xmlEscape(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '&', '<', '>', '\t', '\n', '\r':
			xml.EscapeText(buf, []byte(s))
			return
		default:
			if c >= 0x80 || c < 0x20 {
				xml.EscapeText(buf, []byte(s))
				return
			}
		}
	}
	buf.WriteString(s)
}

// WriteXML writes v (with its own XMLName) as a restXml response.
func (c Codec) WriteXML(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		c.logInternal("encode xml response", err)
		c.WriteError(w, r, InternalFailure())
		return
	}
	writeXMLBytes(w, status, buf.Bytes())
}

func writeXMLBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError renders err in the codec's protocol and records it on the
// request's Call. Errors that are not *Error are logged and answered as
// InternalFailure.
func (c Codec) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, internal := AsError(err)
	if internal {
		c.logInternal("internal failure", err)
	}
	if call := service.CallFrom(r.Context()); call != nil {
		call.ErrorCode = e.Code
		if c.Kind == AWSQuery {
			call.ErrorCode = e.WireQueryCode()
		}
		call.ErrorMessage = e.Message
	}
	h := w.Header()
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	switch c.Kind {
	case AWSJSON10, AWSJSON11, RESTJSON:
		c.writeJSONError(w, e)
	case AWSQuery:
		c.writeQueryError(w, r, e)
	case RESTXML:
		c.writeRESTXMLError(w, r, e)
	default:
		c.writeJSONError(w, e)
	}
}

func (c Codec) writeJSONError(w http.ResponseWriter, e *Error) {
	body := make(map[string]any, 2+len(e.Fields))
	for k, v := range e.Fields {
		body[k] = v
	}
	typ := e.Code
	if c.Namespace != "" && c.Kind != RESTJSON {
		typ = c.Namespace + "#" + e.Code
	}
	h := w.Header()
	if c.Kind == RESTJSON {
		h.Set("X-Amzn-ErrorType", e.Code)
		if _, ok := body["message"]; !ok {
			if _, ok := body["Message"]; !ok {
				body["message"] = e.Message
			}
		}
	} else {
		body["__type"] = typ
		body["message"] = e.Message
		h.Set("X-Amzn-ErrorType", e.Code)
	}
	if e.QueryCode != "" {
		h.Set("X-Amzn-Query-Error", e.QueryCode+";"+e.FaultType())
	}
	c.WriteJSON(w, e.HTTPStatus(), body)
}

type queryErrorDoc struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string    `xml:"Type"`
		Code    string    `xml:"Code"`
		Message string    `xml:"Message"`
		Detail  *struct{} `xml:"Detail"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (c Codec) writeQueryError(w http.ResponseWriter, r *http.Request, e *Error) {
	var doc queryErrorDoc
	doc.XMLNS = c.XMLNS
	doc.Error.Type = e.FaultType()
	doc.Error.Code = e.WireQueryCode()
	doc.Error.Message = e.Message
	doc.Error.Detail = &struct{}{}
	doc.RequestID = requestID(r)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0"?>`)
	xml.NewEncoder(&buf).Encode(doc) // cannot fail: plain strings
	writeXMLBytes(w, e.HTTPStatus(), buf.Bytes())
}

type restXMLErrorDoc struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []xmlKV  `xml:",any"`
	RequestID string   `xml:"RequestId"`
}

type xmlKV struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func (c Codec) writeRESTXMLError(w http.ResponseWriter, r *http.Request, e *Error) {
	doc := restXMLErrorDoc{Code: e.Code, Message: e.Message, RequestID: requestID(r)}
	for k, v := range e.Fields {
		doc.Extra = append(doc.Extra, xmlKV{XMLName: xml.Name{Local: k}, Value: toString(v)})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	xml.NewEncoder(&buf).Encode(doc)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.HTTPStatus())
		return
	}
	writeXMLBytes(w, e.HTTPStatus(), buf.Bytes())
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func requestID(r *http.Request) string {
	if call := service.CallFrom(r.Context()); call != nil {
		return call.RequestID
	}
	return ""
}

func (c Codec) logInternal(msg string, err error) {
	if c.Logger != nil {
		c.Logger.Error("protocol: "+msg, "err", err)
	}
}
