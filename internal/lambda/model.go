package lambda

import (
	"time"
)

// fnConfig is one version's configuration as stored ($LATEST or a
// published version). Published versions never change except State.
type fnConfig struct {
	Version          string            `json:"version"`
	Description      string            `json:"description"`
	Handler          string            `json:"handler"`
	Role             string            `json:"role"`
	Runtime          string            `json:"runtime"`
	MemorySize       int               `json:"memorySize"`
	Timeout          int               `json:"timeout"`
	Env              map[string]string `json:"env,omitempty"`
	Architectures    []string          `json:"architectures"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	CodeSha256       string            `json:"codeSha256"`
	CodeSize         int64             `json:"codeSize"`
	// CodeKey is the blob key of the deployment package.
	CodeKey      string     `json:"codeKey"`
	Layers       []layerRef `json:"layers,omitempty"`
	LastModified time.Time  `json:"lastModified"`
	RevisionID   string     `json:"revisionId"`
	State        string     `json:"state"`
	LastUpdate   string     `json:"lastUpdate"`
	DLQTarget    string     `json:"dlqTarget,omitempty"`
	TracingMode  string     `json:"tracingMode"`
	KMSKeyArn    string     `json:"kmsKeyArn,omitempty"`
	Logging      logging    `json:"logging"`
	PackageType  string     `json:"packageType"`
	// FromRevision is, for a published version, the $LATEST revision it
	// was published from (publishing an unchanged $LATEST returns it again).
	FromRevision string `json:"fromRevision,omitempty"`
}

type layerRef struct {
	Arn      string `json:"arn"`
	CodeSize int64  `json:"codeSize"`
	BlobKey  string `json:"blobKey"`
}

type logging struct {
	LogFormat           string `json:"logFormat"`
	ApplicationLogLevel string `json:"applicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"systemLogLevel,omitempty"`
	LogGroup            string `json:"logGroup"`
}

// fnRecord is a function: its $LATEST configuration and function-level settings.
type fnRecord struct {
	Name        string            `json:"name"`
	Latest      fnConfig          `json:"latest"`
	LastVersion int               `json:"lastVersion"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Reserved is the reserved concurrency; nil when unset.
	Reserved *int         `json:"reserved,omitempty"`
	Policy   []policyStmt `json:"policy,omitempty"`
	// PolicyRevision changes with every policy change.
	PolicyRevision string    `json:"policyRevision,omitempty"`
	Created        time.Time `json:"created"`
}

// aliasRecord is a function alias.
type aliasRecord struct {
	Name            string             `json:"name"`
	FunctionVersion string             `json:"functionVersion"`
	Description     string             `json:"description"`
	Weights         map[string]float64 `json:"weights,omitempty"`
	RevisionID      string             `json:"revisionId"`
}

// --- wire shapes ---------------------------------------------------------

type wireEnv struct {
	Variables map[string]string `json:"Variables"`
}

type wireLayer struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

type wireConfig struct {
	FunctionName               string            `json:"FunctionName"`
	FunctionArn                string            `json:"FunctionArn"`
	Runtime                    string            `json:"Runtime,omitempty"`
	Role                       string            `json:"Role"`
	Handler                    string            `json:"Handler,omitempty"`
	CodeSize                   int64             `json:"CodeSize"`
	Description                string            `json:"Description"`
	Timeout                    int               `json:"Timeout"`
	MemorySize                 int               `json:"MemorySize"`
	LastModified               string            `json:"LastModified"`
	CodeSha256                 string            `json:"CodeSha256"`
	Version                    string            `json:"Version"`
	Environment                *wireEnv          `json:"Environment,omitempty"`
	DeadLetterConfig           *wireDLQ          `json:"DeadLetterConfig,omitempty"`
	KMSKeyArn                  string            `json:"KMSKeyArn,omitempty"`
	TracingConfig              map[string]string `json:"TracingConfig"`
	RevisionId                 string            `json:"RevisionId"`
	Layers                     []wireLayer       `json:"Layers,omitempty"`
	State                      string            `json:"State,omitempty"`
	StateReason                string            `json:"StateReason,omitempty"`
	StateReasonCode            string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string            `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string            `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string            `json:"PackageType"`
	Architectures              []string          `json:"Architectures"`
	EphemeralStorage           map[string]int    `json:"EphemeralStorage"`
	SnapStart                  map[string]string `json:"SnapStart"`
	RuntimeVersionConfig       map[string]string `json:"RuntimeVersionConfig,omitempty"`
	LoggingConfig              wireLogging       `json:"LoggingConfig"`
}

type wireDLQ struct {
	TargetArn string `json:"TargetArn,omitempty"`
}

type wireLogging struct {
	LogFormat           string `json:"LogFormat,omitempty"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	LogGroup            string `json:"LogGroup,omitempty"`
}

// lambdaTime is Lambda's LastModified format.
func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// wire renders c as Lambda's FunctionConfiguration.
func (c *fnConfig) wire(ref fnRef, name string) wireConfig {
	arn := functionARN(ref.Region, ref.Account, name)
	if c.Version != latest {
		arn += ":" + c.Version
	}
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = v
	}
	w := wireConfig{
		FunctionName: name, FunctionArn: arn, Runtime: c.Runtime, Role: c.Role, Handler: c.Handler,
		CodeSize: c.CodeSize, Description: c.Description, Timeout: c.Timeout, MemorySize: c.MemorySize,
		LastModified: lambdaTime(c.LastModified), CodeSha256: c.CodeSha256, Version: c.Version,
		Environment: &wireEnv{Variables: env}, KMSKeyArn: c.KMSKeyArn,
		TracingConfig: map[string]string{"Mode": c.TracingMode}, RevisionId: c.RevisionID,
		State: c.State, LastUpdateStatus: c.LastUpdate, PackageType: c.PackageType,
		Architectures: c.Architectures, EphemeralStorage: map[string]int{"Size": c.EphemeralStorage},
		SnapStart: map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		LoggingConfig: wireLogging{LogFormat: c.Logging.LogFormat, ApplicationLogLevel: c.Logging.ApplicationLogLevel,
			SystemLogLevel: c.Logging.SystemLogLevel, LogGroup: c.Logging.LogGroup},
	}
	if c.Runtime != "" {
		w.RuntimeVersionConfig = map[string]string{"RuntimeVersionArn": "arn:aws:lambda:" + ref.Region + "::runtime:" + runtimeDigest(c.Runtime)}
	}
	if c.DLQTarget != "" {
		w.DeadLetterConfig = &wireDLQ{TargetArn: c.DLQTarget}
	}
	for _, l := range c.Layers {
		w.Layers = append(w.Layers, wireLayer{Arn: l.Arn, CodeSize: l.CodeSize})
	}
	return w
}
