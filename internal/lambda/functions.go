package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Lambda quotas.
const (
	maxZippedSize   = 50 * 1024 * 1024
	maxUnzippedSize = 262144000
	maxEnvSize      = 4096
)

// runtimesEnum is Lambda's accepted runtime list, in the order its error quotes it.
var runtimesEnum = []string{"nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x",
	"nodejs22.x", "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8",
	"python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x", "provided.al2", "java8.al2"}

// deprecatedRuntimes can no longer be used for new functions.
var deprecatedRuntimes = []string{"java8", "go1.x", "provided", "ruby2.7", "nodejs14.x", "python3.7", "dotnetcore3.1",
	"nodejs12.x", "nodejs10.x", "nodejs8.10", "python2.7", "python3.6", "dotnetcore2.1", "ruby2.5", "nodejs"}

// functionCode is the Code member of CreateFunction.
type functionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageUri        string `json:"ImageUri"`
}

type loggingInput struct {
	LogFormat           *string `json:"LogFormat"`
	ApplicationLogLevel *string `json:"ApplicationLogLevel"`
	SystemLogLevel      *string `json:"SystemLogLevel"`
	LogGroup            *string `json:"LogGroup"`
}

// configInput holds the configuration members shared by CreateFunction and
// UpdateFunctionConfiguration; nil means "not given".
type configInput struct {
	Description      *string                              `json:"Description"`
	Handler          *string                              `json:"Handler"`
	Role             *string                              `json:"Role"`
	Runtime          *string                              `json:"Runtime"`
	MemorySize       *int                                 `json:"MemorySize"`
	Timeout          *int                                 `json:"Timeout"`
	Environment      *struct{ Variables json.RawMessage } `json:"Environment"`
	Layers           *[]string                            `json:"Layers"`
	DeadLetterConfig *struct{ TargetArn *string }         `json:"DeadLetterConfig"`
	TracingConfig    *struct{ Mode *string }              `json:"TracingConfig"`
	KMSKeyArn        *string                              `json:"KMSKeyArn"`
	EphemeralStorage *struct{ Size *int }                 `json:"EphemeralStorage"`
	LoggingConfig    *loggingInput                        `json:"LoggingConfig"`
	RevisionId       *string                              `json:"RevisionId"`
}

type createInput struct {
	configInput
	FunctionName  string            `json:"FunctionName"`
	Code          *functionCode     `json:"Code"`
	Publish       bool              `json:"Publish"`
	PackageType   string            `json:"PackageType"`
	Architectures []string          `json:"Architectures"`
	Tags          map[string]string `json:"Tags"`
}

// orderedEnv decodes an Environment.Variables object keeping key order, so
// the 4 KiB check measures the same string Lambda does.
func orderedEnv(raw json.RawMessage) (map[string]string, string, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return map[string]string{}, "{}", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, "", protocol.SerializationError("Environment.Variables must be an object")
	}
	out := map[string]string{}
	var b strings.Builder
	b.WriteByte('{')
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, "", protocol.SerializationError("bad Environment.Variables")
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, "", protocol.SerializationError("Environment.Variables values must be strings")
		}
		k := kt.(string)
		if len(out) > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
		out[k] = v
	}
	b.WriteByte('}')
	return out, b.String(), nil
}

// applyConfig validates in and applies it to c.
func (s *Service) applyConfig(ctx context.Context, call *service.Call, c *fnConfig, in *configInput, fnName string) error {
	if in.Role != nil {
		if !roleRE.MatchString(*in.Role) {
			return errValidationPattern(*in.Role, "role", rolePattern)
		}
		c.Role = *in.Role
	}
	if in.Runtime != nil {
		rt := *in.Runtime
		if slices.Contains(deprecatedRuntimes, rt) {
			return errInvalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", rt)
		}
		if !slices.Contains(runtimesEnum, rt) {
			e := errInvalidParam("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", rt, strings.Join(runtimesEnum, ", "))
			return e
		}
		c.Runtime = rt
	}
	if in.Handler != nil {
		if len(*in.Handler) > 128 {
			return errValidation("1 validation error detected: Value '%s' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128", *in.Handler)
		}
		c.Handler = *in.Handler
	}
	if in.Description != nil {
		if len(*in.Description) > 256 {
			return errValidation("1 validation error detected: Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", *in.Description)
		}
		c.Description = *in.Description
	}
	if in.MemorySize != nil {
		v := *in.MemorySize
		if v < 128 {
			return errValidation("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128", v)
		}
		if v > 10240 {
			return errValidation("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240", v)
		}
		c.MemorySize = v
	}
	if in.Timeout != nil {
		v := *in.Timeout
		if v < 1 {
			return errValidation("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1", v)
		}
		if v > 900 {
			return errValidation("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900", v)
		}
		c.Timeout = v
	}
	if in.Environment != nil {
		env, measured, err := orderedEnv(in.Environment.Variables)
		if err != nil {
			return err
		}
		if len(measured) > maxEnvSize {
			return errInvalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
		}
		var reserved []string
		for k := range env {
			if funcrt.IsReservedEnvKey(k) {
				reserved = append(reserved, k)
			}
		}
		if len(reserved) > 0 {
			sort.Strings(reserved)
			return errInvalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
		}
		c.Env = env
	}
	if in.EphemeralStorage != nil && in.EphemeralStorage.Size != nil {
		v := *in.EphemeralStorage.Size
		if v < 512 || v > 10240 {
			return errValidation("1 validation error detected: Value '%d' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240", v)
		}
		c.EphemeralStorage = v
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != nil {
		if m := *in.TracingConfig.Mode; m != "Active" && m != "PassThrough" {
			return errValidation("1 validation error detected: Value '%s' at 'tracingConfig.mode' failed to satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]", m)
		}
		c.TracingMode = *in.TracingConfig.Mode
	}
	if in.KMSKeyArn != nil {
		c.KMSKeyArn = *in.KMSKeyArn
	}
	if in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != nil {
		t := *in.DeadLetterConfig.TargetArn
		if t != "" {
			svc, _, _, _, ok := parseARN(t)
			if !ok || (svc != "sqs" && svc != "sns") {
				return errInvalidParam("The provided target arn %s is invalid.", t)
			}
		}
		c.DLQTarget = t
	}
	if in.LoggingConfig != nil {
		lc := in.LoggingConfig
		if lc.LogFormat != nil {
			if f := *lc.LogFormat; f != "Text" && f != "JSON" {
				return errValidation("1 validation error detected: Value '%s' at 'loggingConfig.logFormat' failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]", f)
			}
			c.Logging.LogFormat = *lc.LogFormat
		}
		levels := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
		if lc.ApplicationLogLevel != nil {
			if v := *lc.ApplicationLogLevel; v != "" && !slices.Contains(levels, v) {
				return errValidation("1 validation error detected: Value '%s' at 'loggingConfig.applicationLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]", v)
			}
			c.Logging.ApplicationLogLevel = *lc.ApplicationLogLevel
		}
		if lc.SystemLogLevel != nil {
			if v := *lc.SystemLogLevel; v != "" && v != "DEBUG" && v != "INFO" && v != "WARN" {
				return errValidation("1 validation error detected: Value '%s' at 'loggingConfig.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, WARN]", v)
			}
			c.Logging.SystemLogLevel = *lc.SystemLogLevel
		}
		if lc.LogGroup != nil && *lc.LogGroup != "" {
			c.Logging.LogGroup = *lc.LogGroup
		}
		if c.Logging.LogFormat == "JSON" {
			if c.Logging.ApplicationLogLevel == "" {
				c.Logging.ApplicationLogLevel = "INFO"
			}
			if c.Logging.SystemLogLevel == "" {
				c.Logging.SystemLogLevel = "INFO"
			}
		} else if c.Logging.LogFormat == "Text" {
			if (lc.ApplicationLogLevel != nil && *lc.ApplicationLogLevel != "") || (lc.SystemLogLevel != nil && *lc.SystemLogLevel != "") {
				return errInvalidParam("To set application or system log levels, you must set log format to JSON.")
			}
			c.Logging.ApplicationLogLevel, c.Logging.SystemLogLevel = "", ""
		}
	}
	if in.Layers != nil {
		layers, err := s.resolveLayers(ctx, call, *in.Layers)
		if err != nil {
			return err
		}
		c.Layers = layers
	}
	return nil
}

// storeCode validates a deployment package, stores it and unpacks it into
// the code cache. It returns the blob key, size and base64 SHA-256.
func (s *Service) storeCode(ctx context.Context, ref fnRef, zip []byte) (key string, size int64, sha string, err error) {
	if len(zip) > maxZippedSize {
		return "", 0, "", &protocol.Error{Code: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Zipped size must be smaller than %d bytes", maxZippedSize)}
	}
	sum := sha256.Sum256(zip)
	sha = base64.StdEncoding.EncodeToString(sum[:])
	key = "lambda/" + ref.Account + "/" + ref.Region + "/" + ref.Name + "/code/" + s.deps.IDs.UUID() + ".zip"
	if err := s.rt.unpack(key, zip); err != nil {
		return "", 0, "", err
	}
	if _, err := s.deps.Blobs.Put(ctx, key, bytes.NewReader(zip)); err != nil {
		return "", 0, "", fmt.Errorf("lambda: store code: %w", err)
	}
	return key, int64(len(zip)), sha, nil
}

func defaultConfig(name string) fnConfig {
	return fnConfig{Version: latest, MemorySize: 128, Timeout: 3, Architectures: []string{"x86_64"},
		EphemeralStorage: 512, TracingMode: "PassThrough", PackageType: "Zip",
		Logging: logging{LogFormat: "Text", LogGroup: "/aws/lambda/" + name}}
}

func (s *Service) createFunction(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	var in createInput
	body, err := protocol.ReadBody(r, 80<<20)
	if err != nil {
		return err
	}
	if err := protocol.UnmarshalJSON(body, &in); err != nil {
		return err
	}
	call.RequestParameters = map[string]any{"functionName": in.FunctionName, "runtime": in.Runtime, "handler": in.Handler}
	if in.FunctionName == "" {
		return errValidation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	ref, err := parseFunctionName(call, in.FunctionName, "", false)
	if err != nil {
		return err
	}
	if ref.Qualifier != "" {
		return errValidationPattern(in.FunctionName, "functionName", functionNamePattern)
	}
	if in.Role == nil {
		return errValidation("1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null")
	}
	if in.PackageType == "Image" {
		return errInvalidParam("Fogbank does not run container image functions; use PackageType Zip.")
	}
	if in.PackageType != "" && in.PackageType != "Zip" {
		return errValidation("1 validation error detected: Value '%s' at 'packageType' failed to satisfy constraint: Member must satisfy enum value set: [Image, Zip]", in.PackageType)
	}
	cfg := defaultConfig(ref.Name)
	if err := validateArchitectures(in.Architectures); err != nil {
		return err
	}
	if len(in.Architectures) == 1 {
		cfg.Architectures = in.Architectures
	}
	if in.Runtime == nil {
		return errInvalidParam("Runtime is required for .zip file deployment packages.")
	}
	if err := s.applyConfig(r.Context(), call, &cfg, &in.configInput, ref.Name); err != nil {
		return err
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	if in.Code == nil {
		return errValidation("1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null")
	}
	if in.Code.ZipFile == nil {
		if in.Code.S3Bucket != "" {
			return errInvalidParam("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		}
		return errInvalidParam("Please provide a source for function code.")
	}
	unlock := s.lockFn(ref)
	defer unlock()
	if _, _, err := s.loadFunction(r.Context(), ref); err == nil {
		return errConflict("Function already exist: %s", ref.Name)
	}
	key, size, sha, err := s.storeCode(r.Context(), ref, in.Code.ZipFile)
	if err != nil {
		return err
	}
	now := call.Time
	cfg.CodeKey, cfg.CodeSize, cfg.CodeSha256 = key, size, sha
	cfg.LastModified = now
	cfg.State, cfg.LastUpdate = "Active", "Successful"
	cfg.RevisionID = s.deps.IDs.UUID()
	// The answer shows the Pending state of the creation; Fogbank unpacks
	// the code synchronously, so the stored function is Active at once.
	pending := cfg
	pending.RevisionID = s.deps.IDs.UUID()
	rec := fnRecord{Name: ref.Name, Latest: cfg, Tags: in.Tags, Created: now}
	resp := pending.wire(ref, ref.Name)
	resp.State, resp.StateReason, resp.StateReasonCode, resp.LastUpdateStatus = "Pending", "The function is being created.", "Creating", ""
	if in.Publish {
		rec.LastVersion = 1
		v := cfg
		v.Version = "1"
		v.RevisionID = s.deps.IDs.UUID()
		if _, err := storage.PutJSON(r.Context(), s.deps.Meta, nsVersions, ref.key()+"/"+versionKey(1), v, storage.AnyVersion); err != nil {
			return err
		}
		resp.Version = "1"
		resp.FunctionArn = ref.arn() + ":1"
	}
	if _, err := storage.PutJSON(r.Context(), s.deps.Meta, nsFunctions, ref.key(), rec, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("Function already exist: %s", ref.Name)
		}
		return err
	}
	s.rt.prefetchCredentials(r.Context(), ref, cfg.Role)
	call.Resources = []service.Resource{{Type: "AWS::Lambda::Function", Name: ref.arn()}}
	call.ResponseElements = map[string]any{"functionArn": resp.FunctionArn, "functionName": ref.Name}
	s.codec.WriteJSON(w, http.StatusCreated, resp)
	return nil
}

func validateArchitectures(a []string) error {
	if a == nil {
		return nil
	}
	if len(a) > 1 {
		return errValidation("1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1", strings.Join(a, ", "))
	}
	if len(a) == 0 {
		return errValidation("1 validation error detected: Value '[]' at 'architectures' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		return errValidation("1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]", a[0])
	}
	return nil
}

func (s *Service) fnRefFrom(r *http.Request, call *service.Call, invoke bool) (fnRef, error) {
	return parseFunctionName(call, r.PathValue("name"), r.URL.Query().Get("Qualifier"), invoke)
}

type getFunctionOutput struct {
	Configuration wireConfig        `json:"Configuration"`
	Code          map[string]string `json:"Code"`
	Tags          map[string]string `json:"Tags,omitempty"`
	Concurrency   *concurrencyOut   `json:"Concurrency,omitempty"`
}

type concurrencyOut struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (s *Service) getFunction(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	res, err := s.resolve(r.Context(), ref)
	if err != nil {
		return err
	}
	out := getFunctionOutput{Configuration: res.cfg.wire(ref, ref.Name),
		Code: map[string]string{"RepositoryType": "S3", "Location": s.codeLocation(r.Context(), call, ref, res.cfg)}}
	if ref.Qualifier == "" {
		out.Tags = res.fn.Tags
	}
	if res.fn.Reserved != nil {
		out.Concurrency = &concurrencyOut{ReservedConcurrentExecutions: res.fn.Reserved}
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	res, err := s.resolve(r.Context(), ref)
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, res.cfg.wire(ref, ref.Name))
	return nil
}

func (s *Service) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	var in configInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadFunction(r.Context(), ref)
	if err != nil {
		return err
	}
	if in.RevisionId != nil && *in.RevisionId != fn.Latest.RevisionID {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	cfg := fn.Latest
	if err := s.applyConfig(r.Context(), call, &cfg, &in, ref.Name); err != nil {
		return err
	}
	return s.commitLatest(w, r, call, ref, fn, ver, cfg)
}

// commitLatest stores a changed $LATEST and answers as Lambda does while
// an update is in progress.
func (s *Service) commitLatest(w http.ResponseWriter, r *http.Request, call *service.Call, ref fnRef, fn fnRecord, ver int64, cfg fnConfig) error {
	cfg.LastModified = call.Time
	cfg.LastUpdate = "Successful"
	cfg.RevisionID = s.deps.IDs.UUID()
	fn.Latest = cfg
	if _, err := storage.PutJSON(r.Context(), s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", ref.arn())
		}
		return err
	}
	s.rt.prefetchCredentials(r.Context(), ref, cfg.Role)
	resp := cfg.wire(ref, ref.Name)
	resp.RevisionId = s.deps.IDs.UUID()
	resp.LastUpdateStatus, resp.LastUpdateStatusReason, resp.LastUpdateStatusReasonCode = "InProgress", "The function is being created.", "Creating"
	call.Resources = []service.Resource{{Type: "AWS::Lambda::Function", Name: ref.arn()}}
	s.codec.WriteJSON(w, http.StatusOK, resp)
	return nil
}

type updateCodeInput struct {
	ZipFile       []byte   `json:"ZipFile"`
	S3Bucket      string   `json:"S3Bucket"`
	S3Key         string   `json:"S3Key"`
	ImageUri      string   `json:"ImageUri"`
	Publish       bool     `json:"Publish"`
	DryRun        bool     `json:"DryRun"`
	RevisionId    string   `json:"RevisionId"`
	Architectures []string `json:"Architectures"`
}

func (s *Service) updateFunctionCode(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	var in updateCodeInput
	body, err := protocol.ReadBody(r, 80<<20)
	if err != nil {
		return err
	}
	if err := protocol.UnmarshalJSON(body, &in); err != nil {
		return err
	}
	if err := validateArchitectures(in.Architectures); err != nil {
		return err
	}
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadFunction(r.Context(), ref)
	if err != nil {
		return err
	}
	if in.RevisionId != "" && in.RevisionId != fn.Latest.RevisionID {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	if in.ZipFile == nil {
		if in.S3Bucket != "" {
			return errInvalidParam("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		}
		return errInvalidParam("Please provide a source for function code.")
	}
	cfg := fn.Latest
	if len(in.Architectures) == 1 {
		cfg.Architectures = in.Architectures
	}
	if in.DryRun {
		sum := sha256.Sum256(in.ZipFile)
		cfg.CodeSha256 = base64.StdEncoding.EncodeToString(sum[:])
		cfg.CodeSize = int64(len(in.ZipFile))
		s.codec.WriteJSON(w, http.StatusOK, cfg.wire(ref, ref.Name))
		return nil
	}
	key, size, sha, err := s.storeCode(r.Context(), ref, in.ZipFile)
	if err != nil {
		return err
	}
	cfg.CodeKey, cfg.CodeSize, cfg.CodeSha256 = key, size, sha
	if !in.Publish {
		return s.commitLatest(w, r, call, ref, fn, ver, cfg)
	}
	cfg.LastModified = call.Time
	cfg.LastUpdate = "Successful"
	cfg.RevisionID = s.deps.IDs.UUID()
	fn.Latest = cfg
	v, err := s.publishLocked(r.Context(), ref, &fn, ver, "", "")
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, v.wire(ref, ref.Name))
	return nil
}

func (s *Service) deleteFunction(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	switch q := ref.Qualifier; {
	case q == latest:
		return errInvalidParam("$LATEST version cannot be deleted without deleting the function.")
	case q != "" && !isVersionNumber(q):
		return errInvalidParam("Deletion of aliases is not supported. Use DeleteAlias instead.")
	case q != "":
		if _, _, err := s.loadFunction(ctx, ref); err != nil {
			return err
		}
		var n int
		fmt.Sscan(q, &n)
		aliases, _, err := storage.ListJSON[aliasRecord](ctx, s.deps.Meta, nsAliases, ref.key()+"/")
		if err != nil {
			return err
		}
		for _, a := range aliases {
			if a.FunctionVersion == q || a.Weights[q] > 0 {
				return errConflict("Unable to delete version because the following aliases reference it: [%s]", a.Name)
			}
		}
		if err := s.deps.Meta.Delete(ctx, nsVersions, ref.key()+"/"+versionKey(n), storage.AnyVersion); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				// Lambda answers 204 for a version that does not exist.
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			return err
		}
		s.rt.retire(ref.key() + "/" + q)
		_ = s.deps.Meta.Delete(ctx, nsEventConfig, ref.key()+"/"+q, storage.AnyVersion)
		_ = s.deps.Meta.Delete(ctx, nsProvisioned, ref.key()+"/"+q, storage.AnyVersion)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	fn, _, err := s.loadFunction(ctx, ref)
	if err != nil {
		return err
	}
	prefix := ref.key() + "/"
	for _, ns := range []string{nsVersions, nsAliases, nsEventConfig, nsProvisioned, nsURLs} {
		recs, err := s.deps.Meta.List(ctx, ns, prefix, "", 0)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if ns == nsURLs {
				var u urlRecord
				if json.Unmarshal(rec.Value, &u) == nil {
					_ = s.deps.Meta.Delete(ctx, nsURLIDs, u.URLID, storage.AnyVersion)
				}
			}
			_ = s.deps.Meta.Delete(ctx, ns, rec.Key, storage.AnyVersion)
		}
	}
	if err := s.deps.Meta.Delete(ctx, nsFunctions, ref.key(), storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if fn.Reserved != nil {
		s.conc.setReserved(ref, nil)
	}
	s.rt.retirePrefix(ref.key() + "/")
	blobs, _ := s.deps.Blobs.List(ctx, "lambda/"+ref.Account+"/"+ref.Region+"/"+ref.Name+"/")
	for _, b := range blobs {
		_ = s.deps.Blobs.Delete(ctx, b.Key)
	}
	call.Resources = []service.Resource{{Type: "AWS::Lambda::Function", Name: ref.arn()}}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type listFunctionsOutput struct {
	Functions  []wireConfig `json:"Functions"`
	NextMarker string       `json:"NextMarker,omitempty"`
}

func (s *Service) listFunctions(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	q := r.URL.Query()
	all := false
	if v := q.Get("FunctionVersion"); v != "" {
		if v != "ALL" {
			return errValidation("1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", v)
		}
		all = true
	}
	maxItems, err := parseMaxItems(q.Get("MaxItems"), 10000, 50)
	if err != nil {
		return err
	}
	ctx := r.Context()
	base := fnRef{Account: call.Account, Region: call.Region}
	fns, _, err := storage.ListJSON[fnRecord](ctx, s.deps.Meta, nsFunctions, call.Account+"/"+call.Region+"/")
	if err != nil {
		return err
	}
	var items []wireConfig
	for _, fn := range fns {
		ref := base
		ref.Name = fn.Name
		items = append(items, listConfig(fn.Latest.wire(ref, fn.Name)))
		if all {
			vs, _, err := storage.ListJSON[fnConfig](ctx, s.deps.Meta, nsVersions, ref.key()+"/")
			if err != nil {
				return err
			}
			for _, v := range vs {
				items = append(items, listConfig(v.wire(ref, fn.Name)))
			}
		}
	}
	out := listFunctionsOutput{Functions: []wireConfig{}}
	page, next := paginate(items, q.Get("Marker"), maxItems, func(c wireConfig) string { return c.FunctionArn })
	out.Functions = append(out.Functions, page...)
	out.NextMarker = next
	s.codec.WriteJSON(w, http.StatusOK, out)
	return nil
}

// listConfig drops the members ListFunctions does not return.
func listConfig(c wireConfig) wireConfig {
	c.State, c.StateReason, c.StateReasonCode = "", "", ""
	c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "", "", ""
	return c
}

func parseMaxItems(v string, hi, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", v)
	}
	if n > hi {
		return 0, errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to %d", v, hi)
	}
	return n, nil
}

// paginate returns the items after the one whose key is marker (opaque to
// clients: the key of the last item returned), and the next marker.
func paginate[T any](items []T, marker string, n int, key func(T) string) ([]T, string) {
	start := 0
	if marker != "" {
		if m, err := base64.RawURLEncoding.DecodeString(marker); err == nil {
			for i, it := range items {
				if key(it) == string(m) {
					start = i + 1
					break
				}
			}
		}
	}
	if start >= len(items) {
		return nil, ""
	}
	end := min(len(items), start+n)
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next
}
