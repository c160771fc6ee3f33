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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// nsLayerHeads holds, per layer, the last version number handed out
// (layer version numbers are never reused, even after deletion).
const nsLayerHeads = "lambda.layerheads"

// Layer patterns Lambda quotes in its errors.
const (
	layerNamePattern       = `(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`
	layerVersionArnPattern = `(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)`
)

var (
	layerNameRE       = regexp.MustCompile(`^(` + layerNamePattern + `)$`)
	layerVersionArnRE = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:lambda:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$`)
)

// layerRuntimesEnum is the ListLayers CompatibleRuntime enum, in the order
// Lambda's error quotes it.
var layerRuntimesEnum = []string{"ruby3.5", "ruby2.6", "dotnetcore1.0", "python3.7", "nodejs8.10", "nasa", "ruby2.7",
	"python2.7-greengrass", "dotnetcore2.0", "python3.8", "java21", "dotnet6", "dotnetcore2.1", "python3.9", "java11",
	"nodejs6.10", "provided", "dotnetcore3.1", "dotnet8", "java25", "java17", "nodejs", "nodejs4.3", "java8.al2", "go1.x",
	"dotnet10", "nodejs20.x", "go1.9", "byol", "nodejs10.x", "provided.al2023", "nodejs22.x", "python3.10", "java8",
	"nodejs12.x", "python3.11", "nodejs24.x", "nodejs8.x", "python3.12", "nodejs14.x", "nodejs8.9", "nodejs26.x",
	"python3.13", "python3.14", "nodejs16.x", "python3.15", "provided.al2", "nodejs4.3-edge", "nodejs18.x", "ruby3.2",
	"python3.4", "ruby3.3", "ruby3.4", "ruby2.5", "python3.6", "python2.7"}

// layerVersion is one published layer version.
type layerVersion struct {
	Name                    string       `json:"name"`
	Version                 int          `json:"version"`
	Description             string       `json:"description"`
	LicenseInfo             string       `json:"licenseInfo,omitempty"`
	CompatibleRuntimes      []string     `json:"compatibleRuntimes"`
	CompatibleArchitectures []string     `json:"compatibleArchitectures"`
	CodeSha256              string       `json:"codeSha256"`
	CodeSize                int64        `json:"codeSize"`
	BlobKey                 string       `json:"blobKey"`
	Created                 time.Time    `json:"created"`
	Policy                  []policyStmt `json:"policy,omitempty"`
	PolicyRevision          string       `json:"policyRevision,omitempty"`
}

type layerHead struct {
	Last int `json:"last"`
}

func layerARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":layer:" + name
}

// layerAddr is a layer addressed by an API call.
type layerAddr struct{ account, region, name string }

func (a layerAddr) key() string       { return a.account + "/" + a.region + "/" + a.name }
func (a layerAddr) arn() string       { return layerARN(a.region, a.account, a.name) }
func (a layerAddr) vkey(n int) string { return a.key() + "/" + versionKey(n) }
func (a layerAddr) varn(n int) string { return a.arn() + ":" + strconv.Itoa(n) }
func errLayerNotFound() error         { return errNotFound("The resource you requested does not exist.") }
func errLayerVersionLow() error       { return errInvalidParam("Layer Version Cannot be less than 1") }
func layerTime(t time.Time) string    { return lambdaTime(t) }
func (s *Service) layerBlob(a layerAddr, n int) string {
	return "lambda/layers/" + a.account + "/" + a.region + "/" + a.name + "/" + strconv.Itoa(n) + "-" + s.deps.IDs.UUID() + ".zip"
}

// layerFrom parses the LayerName path parameter (a name or a layer ARN).
func layerFrom(r *http.Request, call *service.Call) (layerAddr, error) {
	raw := r.PathValue("layer")
	a := layerAddr{account: call.Account, region: call.Region, name: raw}
	if len(raw) > 140 || !layerNameRE.MatchString(raw) {
		return a, errValidationPattern(raw, "layerName", layerNamePattern)
	}
	if strings.HasPrefix(raw, "arn:") {
		p := strings.Split(raw, ":")
		a.region, a.account, a.name = p[3], p[4], p[6]
	}
	return a, nil
}

func versionFrom(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		return 0, errValidation("1 validation error detected: Value '%s' at 'versionNumber' failed to satisfy constraint: Member must be a number", r.PathValue("version"))
	}
	if n < 1 {
		return 0, errLayerVersionLow()
	}
	return n, nil
}

// layerOut is the GetLayerVersion / PublishLayerVersion shape.
type layerOut struct {
	Content                 *layerContent `json:"Content,omitempty"`
	LayerArn                string        `json:"LayerArn,omitempty"`
	LayerVersionArn         string        `json:"LayerVersionArn"`
	Description             string        `json:"Description"`
	CreatedDate             string        `json:"CreatedDate"`
	Version                 int           `json:"Version"`
	CompatibleRuntimes      []string      `json:"CompatibleRuntimes"`
	LicenseInfo             string        `json:"LicenseInfo,omitempty"`
	CompatibleArchitectures []string      `json:"CompatibleArchitectures"`
}

type layerContent struct {
	Location   string `json:"Location"`
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
}

func (s *Service) layerOut(ctx context.Context, call *service.Call, a layerAddr, v layerVersion, content bool) layerOut {
	o := layerOut{LayerVersionArn: a.varn(v.Version), Description: v.Description, CreatedDate: layerTime(v.Created),
		Version: v.Version, CompatibleRuntimes: v.CompatibleRuntimes, LicenseInfo: v.LicenseInfo, CompatibleArchitectures: v.CompatibleArchitectures}
	if o.CompatibleRuntimes == nil {
		o.CompatibleRuntimes = []string{}
	}
	if o.CompatibleArchitectures == nil {
		o.CompatibleArchitectures = []string{}
	}
	if content {
		o.LayerArn = a.arn()
		o.Content = &layerContent{Location: s.presignedURL(ctx, call, v.BlobKey), CodeSha256: v.CodeSha256, CodeSize: v.CodeSize}
	}
	return o
}

func (s *Service) publishLayerVersion(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, err := layerFrom(r, call)
	if err != nil {
		return err
	}
	if a.account != call.Account || a.region != call.Region {
		return &protocol.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
			Message: "User: " + call.Identity.ARN + " is not authorized to perform: lambda:PublishLayerVersion on resource: " + a.arn()}
	}
	var in struct {
		Description             string        `json:"Description"`
		Content                 *functionCode `json:"Content"`
		CompatibleRuntimes      []string      `json:"CompatibleRuntimes"`
		CompatibleArchitectures []string      `json:"CompatibleArchitectures"`
		LicenseInfo             string        `json:"LicenseInfo"`
	}
	body, err := protocol.ReadBody(r, 80<<20)
	if err != nil {
		return err
	}
	if err := protocol.UnmarshalJSON(body, &in); err != nil {
		return err
	}
	var verrs []string
	for _, rt := range in.CompatibleRuntimes {
		if !slices.Contains(runtimesEnum, rt) {
			verrs = append(verrs, fmt.Sprintf("Value '[%s]' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
				strings.Join(in.CompatibleRuntimes, ", "), strings.Join(runtimesEnum, ", ")))
			break
		}
	}
	for _, ar := range in.CompatibleArchitectures {
		if ar != "x86_64" && ar != "arm64" {
			verrs = append(verrs, fmt.Sprintf("Value '[%s]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
				strings.Join(in.CompatibleArchitectures, ", ")))
			break
		}
	}
	if len(in.CompatibleRuntimes) > 15 {
		verrs = append(verrs, fmt.Sprintf("Value '[%s]' at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15", strings.Join(in.CompatibleRuntimes, ", ")))
	}
	if len(in.CompatibleArchitectures) > 2 {
		verrs = append(verrs, fmt.Sprintf("Value '[%s]' at 'compatibleArchitectures' failed to satisfy constraint: Member must have length less than or equal to 2", strings.Join(in.CompatibleArchitectures, ", ")))
	}
	if len(in.Description) > 256 {
		verrs = append(verrs, fmt.Sprintf("Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", in.Description))
	}
	if len(in.LicenseInfo) > 512 {
		verrs = append(verrs, fmt.Sprintf("Value '%s' at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to 512", in.LicenseInfo))
	}
	if in.Content == nil {
		verrs = append(verrs, "Value null at 'content' failed to satisfy constraint: Member must not be null")
	}
	switch len(verrs) {
	case 0:
	case 1:
		return errValidation("1 validation error detected: %s", verrs[0])
	default:
		return errValidation("%d validation errors detected: %s", len(verrs), strings.Join(verrs, "; "))
	}
	if in.Content.S3Bucket != "" || in.Content.S3Key != "" {
		return errInvalidParam("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
	}
	if len(in.Content.ZipFile) == 0 {
		return errInvalidParam("Please provide a source for layer content.")
	}
	zip := in.Content.ZipFile
	if len(zip) > maxZippedSize {
		return &protocol.Error{Code: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Zipped size must be smaller than %d bytes", maxZippedSize)}
	}
	ctx := r.Context()
	unlock := s.lockFn(fnRef{Account: a.account, Region: a.region, Name: "layer:" + a.name})
	defer unlock()
	head, hver, err := storage.GetJSON[layerHead](ctx, s.deps.Meta, nsLayerHeads, a.key())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if errors.Is(err, storage.ErrNotFound) {
		hver = storage.MustNotExist
	}
	n := head.Last + 1
	key := s.layerBlob(a, n)
	if err := s.rt.unpack(key, zip); err != nil {
		return err
	}
	if _, err := s.deps.Blobs.Put(ctx, key, bytes.NewReader(zip)); err != nil {
		return fmt.Errorf("lambda: store layer: %w", err)
	}
	sum := sha256.Sum256(zip)
	v := layerVersion{Name: a.name, Version: n, Description: in.Description, LicenseInfo: in.LicenseInfo,
		CompatibleRuntimes: in.CompatibleRuntimes, CompatibleArchitectures: in.CompatibleArchitectures,
		CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), CodeSize: int64(len(zip)), BlobKey: key, Created: s.deps.Clock.Now()}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsLayerHeads, a.key(), layerHead{Last: n}, hver); err != nil {
		_ = s.deps.Blobs.Delete(ctx, key)
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", a.arn())
		}
		return err
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsLayers, a.vkey(n), v, storage.AnyVersion); err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusCreated, s.layerOut(ctx, call, a, v, true))
	return nil
}

// loadLayerVersion returns a layer version or notFound().
func (s *Service) loadLayerVersion(ctx context.Context, a layerAddr, n int, notFound func() error) (layerVersion, int64, error) {
	return loadJSON[layerVersion](ctx, s.deps.Meta, nsLayers, a.vkey(n), notFound)
}

func (s *Service) getLayerVersion(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, err := layerFrom(r, call)
	if err != nil {
		return err
	}
	n, err := versionFrom(r)
	if err != nil {
		return err
	}
	v, _, err := s.loadLayerVersion(r.Context(), a, n, errLayerNotFound)
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, s.layerOut(r.Context(), call, a, v, true))
	return nil
}

// layersRoot serves GET /2018-10-31/layers: ListLayers, or
// GetLayerVersionByArn with ?find=LayerVersion&Arn=...
func (s *Service) layersRoot(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	q := r.URL.Query()
	if q.Get("find") == "LayerVersion" {
		call.Operation = "GetLayerVersionByArn"
		arn := q.Get("Arn")
		m := layerVersionArnRE.FindStringSubmatch(arn)
		if m == nil {
			return errValidationPattern(arn, "arn", layerVersionArnPattern)
		}
		n, _ := strconv.Atoi(m[10])
		a := layerAddr{account: m[8], region: m[2], name: m[9]}
		if n < 1 {
			return errLayerVersionLow()
		}
		v, _, err := s.loadLayerVersion(r.Context(), a, n, errLayerNotFound)
		if err != nil {
			return err
		}
		s.codec.WriteJSON(w, http.StatusOK, s.layerOut(r.Context(), call, a, v, true))
		return nil
	}
	rt, arch, err := layerFilters(q.Get("CompatibleRuntime"), q.Get("CompatibleArchitecture"))
	if err != nil {
		return err
	}
	vs, _, err := storage.ListJSON[layerVersion](r.Context(), s.deps.Meta, nsLayers, call.Account+"/"+call.Region+"/")
	if err != nil {
		return err
	}
	type item struct {
		LayerName             string   `json:"LayerName"`
		LayerArn              string   `json:"LayerArn"`
		LatestMatchingVersion layerOut `json:"LatestMatchingVersion"`
	}
	latestByName := map[string]layerVersion{}
	var names []string
	for _, v := range vs {
		if !layerMatches(v, rt, arch) {
			continue
		}
		if cur, ok := latestByName[v.Name]; !ok || v.Version > cur.Version {
			if !ok {
				names = append(names, v.Name)
			}
			latestByName[v.Name] = v
		}
	}
	slices.Sort(names)
	items := []item{}
	for _, name := range names {
		a := layerAddr{account: call.Account, region: call.Region, name: name}
		items = append(items, item{LayerName: name, LayerArn: a.arn(), LatestMatchingVersion: s.layerOut(r.Context(), call, a, latestByName[name], false)})
	}
	page, next, err := pageLayers(items, q.Get("Marker"), q.Get("MaxItems"), func(it item) string { return it.LayerName })
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{"Layers": page, "NextMarker": nilIfEmpty(next)})
	return nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pageLayers pages items by an opaque marker (the last returned item's key).
func pageLayers[T any](items []T, marker, maxItems string, key func(T) string) ([]T, string, error) {
	limit := 50
	if maxItems != "" {
		n, err := strconv.Atoi(maxItems)
		if err != nil || n < 1 || n > 50 {
			return nil, "", errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50", maxItems)
		}
		limit = n
	}
	start := 0
	if marker != "" {
		start = len(items)
		for i, it := range items {
			if key(it) == marker {
				start = i + 1
				break
			}
		}
	}
	items = items[start:]
	if len(items) > limit {
		return items[:limit], key(items[limit-1]), nil
	}
	return items, "", nil
}

func layerFilters(rt, arch string) (string, string, error) {
	if rt != "" && !slices.Contains(layerRuntimesEnum, rt) {
		return "", "", errValidation("1 validation error detected: Value '%s' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [%s]", rt, strings.Join(layerRuntimesEnum, ", "))
	}
	if arch != "" && arch != "x86_64" && arch != "arm64" {
		return "", "", errValidation("1 validation error detected: Value '%s' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]", arch)
	}
	return rt, arch, nil
}

func layerMatches(v layerVersion, rt, arch string) bool {
	return (rt == "" || slices.Contains(v.CompatibleRuntimes, rt)) && (arch == "" || slices.Contains(v.CompatibleArchitectures, arch))
}

func (s *Service) listLayerVersions(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, err := layerFrom(r, call)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	rt, arch, err := layerFilters(q.Get("CompatibleRuntime"), q.Get("CompatibleArchitecture"))
	if err != nil {
		return err
	}
	vs, _, err := storage.ListJSON[layerVersion](r.Context(), s.deps.Meta, nsLayers, a.key()+"/")
	if err != nil {
		return err
	}
	out := []layerOut{}
	for i := len(vs) - 1; i >= 0; i-- {
		if layerMatches(vs[i], rt, arch) {
			out = append(out, s.layerOut(r.Context(), call, a, vs[i], false))
		}
	}
	page, next, err := pageLayers(out, q.Get("Marker"), q.Get("MaxItems"), func(o layerOut) string { return strconv.Itoa(o.Version) })
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{"LayerVersions": page, "NextMarker": nilIfEmpty(next)})
	return nil
}

func (s *Service) deleteLayerVersion(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, err := layerFrom(r, call)
	if err != nil {
		return err
	}
	n, err := versionFrom(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	v, _, err := storage.GetJSON[layerVersion](ctx, s.deps.Meta, nsLayers, a.vkey(n))
	if err == nil {
		if err := s.deps.Meta.Delete(ctx, nsLayers, a.vkey(n), storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		// The blob stays: functions that use the version keep working (and
		// can be unpacked again after a restart), as Lambda keeps a copy
		// for them.
		_ = v
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent) // Lambda answers 204 for a version that does not exist
	return nil
}

// --- layer version permissions ---

func (s *Service) layerPolicyTarget(r *http.Request, call *service.Call) (layerAddr, int, error) {
	a, err := layerFrom(r, call)
	if err != nil {
		return a, 0, err
	}
	n, err := versionFrom(r)
	return a, n, err
}

func errLayerVersionMissing(a layerAddr, n int) func() error {
	return func() error { return errNotFound("Layer version %s does not exist.", a.varn(n)) }
}

func (s *Service) addLayerPermission(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, n, err := s.layerPolicyTarget(r, call)
	if err != nil {
		return err
	}
	var in struct {
		StatementId    string `json:"StatementId"`
		Action         string `json:"Action"`
		Principal      string `json:"Principal"`
		OrganizationId string `json:"OrganizationId"`
	}
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if !sidRE.MatchString(in.StatementId) {
		return errValidationPattern(in.StatementId, "statementId", "([a-zA-Z0-9-_]+)")
	}
	if in.Action != "lambda:GetLayerVersion" {
		return errValidationPattern(in.Action, "action", "lambda:GetLayerVersion")
	}
	if in.Principal != "*" && !regexp.MustCompile(`^(\d{12}|arn:aws[a-zA-Z-]*:iam::\d{12}:root)$`).MatchString(in.Principal) {
		return errValidationPattern(in.Principal, "principal", `\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root`)
	}
	ctx := r.Context()
	unlock := s.lockFn(fnRef{Account: a.account, Region: a.region, Name: "layer:" + a.name})
	defer unlock()
	v, ver, err := s.loadLayerPolicy(r, a, n)
	if err != nil {
		return err
	}
	for _, st := range v.Policy {
		if st.Sid == in.StatementId {
			return errConflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
		}
	}
	principal := any("*")
	if in.Principal != "*" {
		p := in.Principal
		if len(p) == 12 {
			p = "arn:aws:iam::" + p + ":root"
		}
		principal = map[string]string{"AWS": p}
	}
	stmt := map[string]any{"Sid": in.StatementId, "Effect": "Allow", "Principal": principal, "Action": in.Action, "Resource": a.varn(n)}
	if in.OrganizationId != "" {
		stmt["Condition"] = map[string]any{"StringEquals": map[string]string{"aws:PrincipalOrgID": in.OrganizationId}}
	}
	raw, _ := json.Marshal(stmt)
	v.Policy = append(v.Policy, policyStmt{Sid: in.StatementId, Statement: raw})
	v.PolicyRevision = s.deps.IDs.UUID()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsLayers, a.vkey(n), v, ver); err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusCreated, map[string]string{"Statement": string(raw), "RevisionId": v.PolicyRevision})
	return nil
}

// loadLayerPolicy loads layer version n of a for a policy change and
// checks the request's RevisionId against its policy's.
func (s *Service) loadLayerPolicy(r *http.Request, a layerAddr, n int) (layerVersion, int64, error) {
	v, ver, err := s.loadLayerVersion(r.Context(), a, n, errLayerVersionMissing(a, n))
	if err != nil {
		return v, 0, err
	}
	if rev := r.URL.Query().Get("RevisionId"); rev != "" && rev != v.PolicyRevision {
		return v, 0, errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id")
	}
	return v, ver, nil
}

func (s *Service) getLayerPolicy(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, n, err := s.layerPolicyTarget(r, call)
	if err != nil {
		return err
	}
	v, _, err := s.loadLayerVersion(r.Context(), a, n, errLayerVersionMissing(a, n))
	if err != nil {
		return err
	}
	if len(v.Policy) == 0 {
		return errNotFound("No policy is associated with the given resource.")
	}
	stmts := make([]json.RawMessage, 0, len(v.Policy))
	for _, st := range v.Policy {
		stmts = append(stmts, st.Statement)
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": stmts})
	s.codec.WriteJSON(w, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": v.PolicyRevision})
	return nil
}

func (s *Service) removeLayerPermission(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	a, n, err := s.layerPolicyTarget(r, call)
	if err != nil {
		return err
	}
	sid := r.PathValue("sid")
	ctx := r.Context()
	unlock := s.lockFn(fnRef{Account: a.account, Region: a.region, Name: "layer:" + a.name})
	defer unlock()
	v, ver, err := s.loadLayerPolicy(r, a, n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(v.Policy, func(st policyStmt) bool { return st.Sid == sid })
	if i < 0 {
		return errNotFound("Statement %s is not found in resource policy.", sid)
	}
	v.Policy = slices.Delete(v.Policy, i, i+1)
	v.PolicyRevision = s.deps.IDs.UUID()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsLayers, a.vkey(n), v, ver); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// layerUsable reports whether account may use layer version v of a:
// its own layers, or another account's whose policy allows it.
func layerUsable(a layerAddr, v layerVersion, account string) bool {
	if a.account == account {
		return true
	}
	for _, st := range v.Policy {
		var doc struct{ Principal json.RawMessage }
		if json.Unmarshal(st.Statement, &doc) != nil {
			continue
		}
		var p string
		if json.Unmarshal(doc.Principal, &p) == nil && p == "*" {
			return true
		}
		var m map[string]string
		if json.Unmarshal(doc.Principal, &m) == nil && m["AWS"] == "arn:aws:iam::"+account+":root" {
			return true
		}
	}
	return false
}

// resolveLayers resolves a function's Layers (layer version ARNs) as
// Lambda validates them.
func (s *Service) resolveLayers(ctx context.Context, call *service.Call, arns []string) ([]layerRef, error) {
	if len(arns) > 5 {
		return nil, errInvalidParam("Cannot reference more than 5 layers.")
	}
	for _, arn := range arns {
		if !layerVersionArnRE.MatchString(arn) || len(arn) > 2048 {
			return nil, errValidation("1 validation error detected: Value '[%s]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: %s, Member must not be null]",
				strings.Join(arns, ", "), layerVersionArnPattern)
		}
	}
	seen := map[string]string{}
	for _, arn := range arns {
		m := layerVersionArnRE.FindStringSubmatch(arn)
		base := m[8] + ":" + m[9]
		if prev, ok := seen[base]; ok {
			return nil, errInvalidParam("Two different versions of the same layer are not allowed to be referenced in the same function. %s and %s are versions of the same layer.", prev, arn)
		}
		seen[base] = arn
	}
	out := make([]layerRef, 0, len(arns))
	for _, arn := range arns {
		m := layerVersionArnRE.FindStringSubmatch(arn)
		if m[2] != call.Region {
			return nil, errInvalidParam("Layers are not in the same region as the function. Layers are expected to be in region %s.", call.Region)
		}
		n, _ := strconv.Atoi(m[10])
		a := layerAddr{account: m[8], region: m[2], name: m[9]}
		v, _, err := storage.GetJSON[layerVersion](ctx, s.deps.Meta, nsLayers, a.vkey(n))
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !layerUsable(a, v, call.Account)) {
			return nil, errInvalidParam("Layer version %s does not exist.", arn)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, layerRef{Arn: arn, CodeSize: v.CodeSize, BlobKey: v.BlobKey})
	}
	return out, nil
}
