package funcrt

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// reservedEnvKeys are the variables Lambda sets and does not let a
// function's configuration override (AWS "Defined runtime environment
// variables", reserved list).
var reservedEnvKeys = map[string]bool{
	"_HANDLER":                        true,
	"_X_AMZN_TRACE_ID":                true,
	"AWS_DEFAULT_REGION":              true,
	"AWS_REGION":                      true,
	"AWS_EXECUTION_ENV":               true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_INITIALIZATION_TYPE":  true,
	"AWS_LAMBDA_LOG_GROUP_NAME":       true,
	"AWS_LAMBDA_LOG_STREAM_NAME":      true,
	"AWS_ACCESS_KEY":                  true,
	"AWS_ACCESS_KEY_ID":               true,
	"AWS_SECRET_ACCESS_KEY":           true,
	"AWS_SESSION_TOKEN":               true,
	"AWS_LAMBDA_RUNTIME_API":          true,
	"LAMBDA_TASK_ROOT":                true,
	"LAMBDA_RUNTIME_DIR":              true,
}

// IsReservedEnvKey reports whether Lambda reserves the environment variable
// name, so that a function configuration may not set it (the Lambda service
// rejects such configurations; this package ignores such keys).
func IsReservedEnvKey(k string) bool { return reservedEnvKeys[k] }

// ReservedEnvKeys returns the reserved names, sorted.
func ReservedEnvKeys() []string {
	out := make([]string, 0, len(reservedEnvKeys))
	for k := range reservedEnvKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// envInputs are the per-environment values of the variable set.
type envInputs struct {
	runtimeAPI  string
	logStream   string
	optDir      string
	tmpDir      string
	provisioned bool
}

// buildEnv returns the process environment, in a stable order: the
// platform's defaults that users may override (LANG, PATH, TZ, ...), then
// the function's variables, then the reserved values, which always win.
func buildEnv(cfg *Config, in envInputs) []string {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	task := cfg.CodeDir
	rtDir := cfg.runtimeDir()
	opt := in.optDir

	// Overridable defaults, as Lambda's Amazon Linux images set them, with
	// the host paths that stand for /var/task, /var/runtime and /opt.
	pathList := []string{"/usr/local/bin", "/usr/bin", "/bin"}
	ldList := []string{"/lib64", "/usr/lib64"}
	if rtDir != task {
		ldList = append(ldList, rtDir, filepath.Join(rtDir, "lib"))
	}
	ldList = append(ldList, task, filepath.Join(task, "lib"))
	if opt != "" {
		pathList = append(pathList, filepath.Join(opt, "bin"))
		ldList = append(ldList, filepath.Join(opt, "lib"))
	}
	set("LANG", "en_US.UTF-8")
	set("TZ", ":UTC")
	set("PATH", strings.Join(pathList, ":"))
	set("LD_LIBRARY_PATH", strings.Join(ldList, ":"))
	set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
	// Fogbank additions (not in Lambda): the private temp dir and the /opt stand-in.
	set("TMPDIR", in.tmpDir)
	if opt != "" {
		set("FOGBANK_OPT_DIR", opt)
	}
	if cfg.EndpointURL != "" {
		// Not reserved in Lambda either: a function may point its SDK elsewhere.
		set("AWS_ENDPOINT_URL", cfg.EndpointURL)
	}

	userKeys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		userKeys = append(userKeys, k)
	}
	sort.Strings(userKeys)
	for _, k := range userKeys {
		if k == "" || strings.ContainsAny(k, "=\x00") || IsReservedEnvKey(k) {
			continue
		}
		set(k, strings.ReplaceAll(cfg.Env[k], "\x00", ""))
	}

	initType := "on-demand"
	if in.provisioned {
		initType = "provisioned-concurrency"
	}
	set("AWS_LAMBDA_FUNCTION_NAME", cfg.FunctionName)
	set("AWS_LAMBDA_FUNCTION_VERSION", cfg.Version)
	set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(cfg.MemoryMB))
	set("AWS_LAMBDA_LOG_GROUP_NAME", cfg.logGroup())
	set("AWS_LAMBDA_LOG_STREAM_NAME", in.logStream)
	set("AWS_LAMBDA_INITIALIZATION_TYPE", initType)
	set("AWS_REGION", cfg.region())
	set("AWS_DEFAULT_REGION", cfg.region())
	if !isOSOnlyRuntime(cfg.Runtime) {
		set("AWS_EXECUTION_ENV", "AWS_Lambda_"+cfg.Runtime)
	}
	set("LAMBDA_TASK_ROOT", task)
	set("LAMBDA_RUNTIME_DIR", rtDir)
	set("_HANDLER", cfg.Handler)
	set("AWS_LAMBDA_RUNTIME_API", in.runtimeAPI)
	if cfg.Credentials.AccessKeyID != "" {
		set("AWS_ACCESS_KEY_ID", cfg.Credentials.AccessKeyID)
		set("AWS_SECRET_ACCESS_KEY", cfg.Credentials.SecretAccessKey)
		if cfg.Credentials.SessionToken != "" {
			set("AWS_SESSION_TOKEN", cfg.Credentials.SessionToken)
		}
	}

	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out
}
