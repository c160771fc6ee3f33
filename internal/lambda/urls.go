package lambda

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Function URL control plane (CreateFunctionUrlConfig and friends). The
// data plane (serving requests to the URLs) is in urlserve.go.

// urlRecord is a function URL configuration, stored under
// <function key>/<qualifier or $LATEST> in nsURLs.
type urlRecord struct {
	URLID      string    `json:"urlId"`
	Qualifier  string    `json:"qualifier"`
	AuthType   string    `json:"authType"`
	InvokeMode string    `json:"invokeMode"`
	Cors       *urlCors  `json:"cors,omitempty"`
	Created    time.Time `json:"created"`
	Modified   time.Time `json:"modified"`
}

// urlIDRecord maps a URL id (the host's first label) to its function.
type urlIDRecord struct {
	Account   string `json:"account"`
	Region    string `json:"region"`
	Name      string `json:"name"`
	Qualifier string `json:"qualifier"`
}

// urlCors is a function URL's CORS configuration (Lambda's Cors shape).
type urlCors struct {
	AllowCredentials *bool    `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

// urlQualifierPattern is the qualifier pattern of the function URL operations
// (an alias name: not a version number, not $LATEST).
const urlQualifierPattern = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`

// urlTimeFormat is the format of CreationTime and LastModifiedTime.
const urlTimeFormat = "2006-01-02T15:04:05.000000Z"

func errURLNotFound() error { return errNotFound("The resource you requested does not exist.") }

func errFnDoesNotExist() error { return errNotFound("Function does not exist") }

func urlKey(ref fnRef) string {
	q := ref.Qualifier
	if q == "" {
		q = latest
	}
	return ref.key() + "/" + q
}

// urlRef parses and validates the function and qualifier of a function URL operation.
func (s *Service) urlRef(r *http.Request, call *service.Call) (fnRef, error) {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return ref, err
	}
	if q := ref.Qualifier; q != "" && (isVersionNumber(q) || !aliasNameRE.MatchString(q)) {
		return ref, errValidationPattern(q, "qualifier", urlQualifierPattern)
	}
	return ref, nil
}

// urlTarget checks that the function (and alias) exist; notFound is the
// error to answer when they do not.
func (s *Service) urlTarget(ctx context.Context, ref fnRef, notFound func() error) error {
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		if errors.Is(err, storage.ErrNotFound) || isNotFound(err) {
			return notFound()
		}
		return err
	}
	if ref.Qualifier != "" {
		if _, _, err := s.loadAlias(ctx, ref, ref.Qualifier); err != nil {
			if isNotFound(err) {
				return notFound()
			}
			return err
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == "ResourceNotFoundException"
}

type urlConfigInput struct {
	AuthType   *string  `json:"AuthType"`
	InvokeMode *string  `json:"InvokeMode"`
	Cors       *urlCors `json:"Cors"`
}

func (in *urlConfigInput) validate() error {
	if in.AuthType != nil && *in.AuthType != "NONE" && *in.AuthType != "AWS_IAM" {
		return errValidation("1 validation error detected: Value '%s' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_IAM, NONE]", *in.AuthType)
	}
	if in.InvokeMode != nil && *in.InvokeMode != "BUFFERED" && *in.InvokeMode != "RESPONSE_STREAM" {
		return errValidation("1 validation error detected: Value '%s' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]", *in.InvokeMode)
	}
	if c := in.Cors; c != nil {
		if c.MaxAge != nil && (*c.MaxAge < 0 || *c.MaxAge > 86400) {
			return errValidation("1 validation error detected: Value '%d' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400", *c.MaxAge)
		}
		if len(c.AllowMethods) > 6 {
			return errValidation("1 validation error detected: Value '[%s]' at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6", strings.Join(c.AllowMethods, ", "))
		}
		for _, m := range c.AllowMethods {
			if len(m) > 6 || strings.ContainsAny(m, " \t") {
				return errValidation("1 validation error detected: Value '[%s]' at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 6, Member must satisfy regular expression pattern: .*]", strings.Join(c.AllowMethods, ", "))
			}
		}
		if len(c.AllowOrigins) > 100 || len(c.AllowHeaders) > 100 || len(c.ExposeHeaders) > 100 {
			return errValidation("1 validation error detected: Value at 'cors' failed to satisfy constraint: Member must have length less than or equal to 100")
		}
	}
	return nil
}

// urlOutput is the FunctionUrlConfig shape.
type urlOutput struct {
	FunctionUrl      string   `json:"FunctionUrl"`
	FunctionArn      string   `json:"FunctionArn"`
	AuthType         string   `json:"AuthType"`
	Cors             *urlCors `json:"Cors,omitempty"`
	CreationTime     string   `json:"CreationTime"`
	LastModifiedTime string   `json:"LastModifiedTime,omitempty"`
	InvokeMode       string   `json:"InvokeMode,omitempty"`
}

// FunctionURL returns the URL of a function URL id as Lambda shows it,
// "http://<id>.lambda-url.<region>.<host>/" where host is how the client
// reached this server.
func functionURL(call *service.Call, region, id string) string {
	scheme := call.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + id + ".lambda-url." + region + "." + call.Host + "/"
}

func (s *Service) urlOut(call *service.Call, ref fnRef, u urlRecord) urlOutput {
	return urlOutput{FunctionUrl: functionURL(call, ref.Region, u.URLID), FunctionArn: ref.qualifiedARN(), AuthType: u.AuthType,
		Cors: u.Cors, CreationTime: u.Created.UTC().Format(urlTimeFormat), LastModifiedTime: u.Modified.UTC().Format(urlTimeFormat),
		InvokeMode: u.InvokeMode}
}

func (s *Service) createURL(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.urlRef(r, call)
	if err != nil {
		return err
	}
	var in urlConfigInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.AuthType == nil {
		return errValidation("1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null")
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	if err := s.urlTarget(ctx, ref, errFnDoesNotExist); err != nil {
		return err
	}
	now := s.deps.Clock.Now()
	u := urlRecord{URLID: s.deps.IDs.Hex(16), Qualifier: ref.Qualifier, AuthType: *in.AuthType, InvokeMode: "BUFFERED",
		Cors: in.Cors, Created: now, Modified: now}
	if in.InvokeMode != nil {
		u.InvokeMode = *in.InvokeMode
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsURLs, urlKey(ref), u, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", ref.qualifiedARN())
		}
		return err
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsURLIDs, u.URLID, urlIDRecord(ref), storage.MustNotExist); err != nil {
		_ = s.deps.Meta.Delete(ctx, nsURLs, urlKey(ref), storage.AnyVersion)
		return err
	}
	out := s.urlOut(call, ref, u)
	out.LastModifiedTime = ""
	if in.InvokeMode == nil {
		out.InvokeMode = ""
	}
	s.codec.WriteJSON(w, http.StatusCreated, out)
	return nil
}

// loadURL checks that the URL's function (and alias) exists, the error
// targetMissing builds when not, and returns the URL record and its
// version, or ResourceNotFoundException.
func (s *Service) loadURL(ctx context.Context, ref fnRef, targetMissing func() error) (urlRecord, int64, error) {
	if err := s.urlTarget(ctx, ref, targetMissing); err != nil {
		return urlRecord{}, 0, err
	}
	return loadJSON[urlRecord](ctx, s.deps.Meta, nsURLs, urlKey(ref), errURLNotFound)
}

func (s *Service) getURL(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.urlRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u, _, err := s.loadURL(ctx, ref, errURLNotFound)
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, s.urlOut(call, ref, u))
	return nil
}

func (s *Service) updateURL(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.urlRef(r, call)
	if err != nil {
		return err
	}
	var in urlConfigInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	u, ver, err := s.loadURL(ctx, ref, errFnDoesNotExist)
	if err != nil {
		return err
	}
	if in.AuthType != nil {
		u.AuthType = *in.AuthType
	}
	if in.InvokeMode != nil {
		u.InvokeMode = *in.InvokeMode
	}
	if in.Cors != nil {
		u.Cors = in.Cors
	}
	u.Modified = s.deps.Clock.Now()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsURLs, urlKey(ref), u, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The function URL configuration was modified concurrently. Try again.")
		}
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, s.urlOut(call, ref, u))
	return nil
}

func (s *Service) deleteURL(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.urlRef(r, call)
	if err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	u, _, err := s.loadURL(ctx, ref, errURLNotFound)
	if err != nil {
		return err
	}
	if err := s.deps.Meta.Delete(ctx, nsURLs, urlKey(ref), storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	_ = s.deps.Meta.Delete(ctx, nsURLIDs, u.URLID, storage.AnyVersion)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listURLs(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	maxItems := 50
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50", v)
		}
		maxItems = n
	}
	ctx := r.Context()
	ref.Qualifier = ""
	if err := s.urlTarget(ctx, ref, errFnDoesNotExist); err != nil {
		return err
	}
	recs, keys, err := storage.ListJSON[urlRecord](ctx, s.deps.Meta, nsURLs, ref.key()+"/")
	if err != nil {
		return err
	}
	out := struct {
		FunctionUrlConfigs []urlOutput `json:"FunctionUrlConfigs"`
		NextMarker         string      `json:"NextMarker,omitempty"`
	}{FunctionUrlConfigs: []urlOutput{}}
	marker := q.Get("Marker")
	for i, u := range recs {
		if marker != "" && keys[i] <= marker {
			continue
		}
		if len(out.FunctionUrlConfigs) == maxItems {
			out.NextMarker = keys[i-1]
			break
		}
		uref := ref
		uref.Qualifier = u.Qualifier
		out.FunctionUrlConfigs = append(out.FunctionUrlConfigs, s.urlOut(call, uref, u))
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
	return nil
}
