package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/reqbody"
)

// DefaultMaxBody caps request bodies read by the decoders.
const DefaultMaxBody = 64 << 20

// ReadBody reads at most max bytes of the request body (max <= 0:
// DefaultMaxBody); a longer body is an error with status 413.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if r.Body == nil {
		return nil, nil
	}
	if b, ok := r.Body.(*reqbody.Buffer); ok {
		// Already in memory (the SigV4 verifier hashed it): no copy.
		rest := b.Rest()
		if int64(len(rest)) > max {
			return nil, NewError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request must be smaller than %d bytes", max)
		}
		return rest, nil
	}
	// One allocation when Content-Length is right: room for the body and
	// one more byte, so that EOF is seen without growing.
	size := int64(512)
	if r.ContentLength >= 0 && r.ContentLength <= max {
		size = r.ContentLength + 1
	}
	b, err := reqbody.ReadAtMost(r.Body, make([]byte, 0, size), max+1)
	if err != nil {
		return nil, SerializationError("failed to read request body: " + err.Error())
	}
	if int64(len(b)) > max {
		return nil, NewError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request must be smaller than %d bytes", max)
	}
	return b, nil
}

// DecodeJSON decodes a JSON request body into v. An empty body decodes as
// {}. Malformed JSON or a value of the wrong type is a SerializationException.
func DecodeJSON(r *http.Request, v any) error {
	b, err := ReadBody(r, 0)
	if err != nil {
		return err
	}
	return UnmarshalJSON(b, v)
}

// UnmarshalJSON is DecodeJSON on bytes.
func UnmarshalJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok {
			return SerializationError(fmt.Sprintf("Start of structure or map found where not expected at field %s", te.Field))
		}
		return SerializationError("Could not parse request body into json: " + err.Error())
	}
	return nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

// ParseQuery returns the parameters of an awsQuery request: the
// form-encoded body of a POST merged after the URL query.
func ParseQuery(r *http.Request) (url.Values, error) {
	vals := r.URL.Query()
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && formBody(r.Header.Get("Content-Type")) {
		b, err := ReadBody(r, 0)
		if err != nil {
			return nil, err
		}
		r.Body = reqbody.NewBuffer(b)
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, SerializationError("malformed form body")
		}
		if len(vals) == 0 {
			return form, nil
		}
		for k, v := range form {
			vals[k] = append(vals[k], v...)
		}
	}
	return vals, nil
}

// formType is the media type of awsQuery request bodies.
const formType = "application/x-www-form-urlencoded"

// formBody reports whether a body of Content-Type ct is read as a form:
// ct's media type is the form type, or ct is absent or unparseable. The
// usual form Content-Type is recognised without mime.ParseMediaType.
func formBody(ct string) bool {
	if mt, _, _ := strings.Cut(ct, ";"); strings.EqualFold(strings.TrimSpace(mt), formType) {
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "" || mt == formType
}

// QueryIndexes returns, in ascending order, the distinct indexes N of
// parameters named prefix.N or prefix.N.<anything> (awsQuery lists and maps
// are flattened that way: "Attribute.1.Name", "Tag.2.Key").
func QueryIndexes(vals url.Values, prefix string) []int {
	seen := map[int]bool{}
	p := prefix + "."
	for k := range vals {
		if !strings.HasPrefix(k, p) {
			continue
		}
		rest := k[len(p):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		seen[n] = true
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// EpochSeconds is a timestamp rendered, as awsJson and restJson default to,
// as fractional seconds since the Unix epoch (millisecond precision).
type EpochSeconds time.Time

// MarshalJSON implements json.Marshaler.
func (t EpochSeconds) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	ms := tt.UnixMilli()
	if ms%1000 == 0 {
		return []byte(strconv.FormatInt(ms/1000, 10)), nil
	}
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

// UnmarshalJSON accepts epoch seconds (integer or fractional) or an
// ISO 8601 string.
func (t *EpochSeconds) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			*t = EpochSeconds(fromEpoch(f))
			return nil
		}
		tt, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return fmt.Errorf("protocol: bad timestamp %q", str)
		}
		*t = EpochSeconds(tt)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("protocol: bad timestamp %s", s)
	}
	*t = EpochSeconds(fromEpoch(f))
	return nil
}

func fromEpoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
}

// ISO8601 formats t as AWS query/XML timestamps do (UTC, milliseconds).
func ISO8601(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
