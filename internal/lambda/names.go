package lambda

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

const latest = "$LATEST"

// Patterns Lambda validates names against (quoted in its errors).
const (
	functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	invokeNamePattern   = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	qualifierPattern    = `(|[a-zA-Z0-9$_-]+)`
	aliasNamePattern    = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	rolePattern         = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
)

var (
	functionNameRE = regexp.MustCompile(`^` + functionNamePattern + `$`)
	invokeNameRE   = regexp.MustCompile(`^` + invokeNamePattern + `$`)
	qualifierRE    = regexp.MustCompile(`^[a-zA-Z0-9$_-]+$`)
	aliasNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	digitsRE       = regexp.MustCompile(`^[0-9]+$`)
	roleRE         = regexp.MustCompile(`^` + rolePattern + `$`)
	plainNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// fnRef is a function reference resolved against the caller's account and region.
type fnRef struct {
	Account, Region, Name string
	// Qualifier is "" (unqualified), "$LATEST", a version number or an alias.
	Qualifier string
}

// arn returns the unqualified function ARN.
func (r fnRef) arn() string { return functionARN(r.Region, r.Account, r.Name) }

// qualifiedARN returns the ARN with the qualifier, if any.
func (r fnRef) qualifiedARN() string {
	if r.Qualifier == "" {
		return r.arn()
	}
	return r.arn() + ":" + r.Qualifier
}

func (r fnRef) key() string { return r.Account + "/" + r.Region + "/" + r.Name }

func functionARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// parseFunctionName resolves the FunctionName path parameter (name, name:qualifier,
// partial ARN or full ARN) and an optional Qualifier query parameter, as
// Lambda validates them. invoke selects Invoke's more permissive pattern,
// and lets an ARN name another account's function (the invoke path then
// authorizes the caller against the function's policy, see
// authorizeInvoke); other operations refuse those.
func parseFunctionName(call *service.Call, raw, qualifier string, invoke bool) (fnRef, error) {
	ref := fnRef{Account: call.Account, Region: call.Region}
	if isPlainName(raw) {
		// The common case (a bare name): what the patterns below would
		// accept, without running them.
		if qualifier != "" && (len(qualifier) > 128 || !qualifierRE.MatchString(qualifier)) {
			return ref, errValidationPattern(qualifier, "qualifier", qualifierPattern)
		}
		ref.Name, ref.Qualifier = raw, qualifier
		return ref, nil
	}
	re, pat := functionNameRE, functionNamePattern
	if invoke {
		re, pat = invokeNameRE, invokeNamePattern
	}
	if len(raw) > 140 {
		return ref, errValidation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140", raw)
	}
	if raw == "" || !re.MatchString(raw) {
		return ref, errValidationPattern(raw, "functionName", pat)
	}
	if qualifier != "" && (len(qualifier) > 128 || !qualifierRE.MatchString(qualifier)) {
		return ref, errValidationPattern(qualifier, "qualifier", qualifierPattern)
	}
	parts := strings.Split(raw, ":")
	var name, derived string
	switch {
	case strings.HasPrefix(raw, "arn:"):
		// arn:aws:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 {
			return ref, errValidationPattern(raw, "functionName", pat)
		}
		if parts[3] != call.Region {
			return ref, errNotFound("Functions from '%s' are not reachable in this region ('%s')", parts[3], call.Region)
		}
		if parts[4] != call.Account {
			if !invoke {
				return ref, &protocol.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
					Message: "User: " + call.Identity.ARN + " is not authorized to perform: lambda:* on resource: " + raw + " because no resource-based policy allows the lambda:* action"}
			}
			ref.Account = parts[4] // another account's function: the caller authorizes (authorizeInvoke)
		}
		name = parts[6]
		if len(parts) > 7 {
			derived = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		// account:function:name[:qualifier]
		if parts[0] != call.Account {
			if !invoke {
				return ref, &protocol.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
					Message: "User: " + call.Identity.ARN + " is not authorized to perform: lambda:* on resource: " + raw}
			}
			ref.Account = parts[0]
		}
		name = parts[2]
		if len(parts) > 3 {
			derived = parts[3]
		}
	case len(parts) == 1:
		name = parts[0]
	case len(parts) == 2:
		name, derived = parts[0], parts[1]
	default:
		return ref, errValidationPattern(raw, "functionName", pat)
	}
	if len(name) > 64 {
		return ref, errInvalidParam("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64", name)
	}
	if !plainNameRE.MatchString(name) {
		return ref, errValidationPattern(raw, "functionName", pat)
	}
	if derived != "" && qualifier != "" && derived != qualifier {
		return ref, errInvalidParam("The derived qualifier from the function name does not match the specified qualifier.")
	}
	ref.Name = name
	ref.Qualifier = qualifier
	if derived != "" {
		ref.Qualifier = derived
	}
	return ref, nil
}

// isVersionNumber reports whether q names a published version.
func isVersionNumber(q string) bool { return digitsRE.MatchString(q) }

func versionKey(n int) string { return leftPad(strconv.Itoa(n), 10) }

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// parseARN splits an ARN into service, region, account and resource.
func parseARN(arn string) (svc, region, account, resource string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return "", "", "", "", false
	}
	return p[2], p[3], p[4], p[5], true
}

// isPlainName reports whether s is a bare function name of 1 to 64
// characters from [a-zA-Z0-9_-].
func isPlainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
