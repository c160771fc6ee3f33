package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "fogbank",
		Short:         "Fogbank serves the AWS serverless APIs on your own machine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newVersionCmd(), newAccountsCmd(), newKeysCmd(), newClockCmd(), newResetCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "fogbank", buildVersion())
			return nil
		},
	}
}

// bindEnv lets every flag of cmd be set by FOGBANK_<FLAG> (dashes become
// underscores) unless given on the command line.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		env := "FOGBANK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := cmd.Flags().Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

func newServeCmd() *cobra.Command {
	var (
		cfg         server.Config
		logLevel    string
		logFormat   string
		services    []string
		sandboxPool int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Fogbank server",
		Long: "Run the Fogbank server. Every flag can also be set with the environment variable\n" +
			"FOGBANK_<FLAG> (upper case, dashes as underscores), e.g. FOGBANK_LISTEN=0.0.0.0:4566.",
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			cfg.Version = buildVersion()
			cfg.LambdaSandboxPool = sandboxPool
			if sandboxPool <= 0 {
				cfg.LambdaSandboxPool = -1 // none
			}
			for _, s := range services {
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						cfg.Services = append(cfg.Services, p)
					}
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			if err := srv.Start(ctx); err != nil {
				srv.Shutdown(context.Background())
				return err
			}
			<-ctx.Done()
			logger.Info("shutting down")
			return srv.Shutdown(context.Background())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:4566", "address to listen on")
	f.StringVar(&cfg.DataDir, "data-dir", "./.fogbank", "directory for embedded storage")
	f.StringVar(&cfg.Storage, "storage", "embedded", "storage back end: embedded | nats-embedded | postgres://… | nats://…")
	f.StringVar(&cfg.Sync, "sync", "full", "embedded storage fsync policy: full | normal | off (see docs/architecture.md)")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region for requests that name none")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug | info | warn | error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text | json")
	f.Float64Var(&cfg.ClockSpeed, "clock-speed", 1, "run the clock this many times faster than real time")
	f.BoolVar(&cfg.DevAnyCredentials, "dev-any-credentials", false, "accept any access key without checking signatures (LocalStack-style)")
	f.StringSliceVar(&services, "services", nil, "run only these services (comma-separated); default all")
	f.Uint64Var(&cfg.Seed, "seed", 0, "make generated ids deterministic (0: random)")
	f.StringVar(&cfg.LambdaIsolation, "lambda-isolation", "namespaces", "Lambda execution environments: namespaces (Linux namespaces where the host allows) | process (plain processes, faster cold starts)")
	f.StringVar(&cfg.LambdaCgroupParent, "lambda-cgroup-parent", "", "delegated cgroup v2 directory for per-environment memory limits")
	f.IntVar(&sandboxPool, "lambda-sandbox-pool", funcrt.DefaultSandboxPoolSize, "pre-started sandbox helpers kept for Lambda cold starts with namespace isolation (0: none)")
	return cmd
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// adminClient talks to a running server's /_fogbank/ endpoints.
type adminClient struct{ endpoint string }

func addEndpointFlag(cmd *cobra.Command, endpoint *string) {
	cmd.PersistentFlags().StringVar(endpoint, "endpoint", "http://127.0.0.1:4566", "URL of the running Fogbank (env FOGBANK_ENDPOINT)")
}

func (a adminClient) do(method, path string, in any) (map[string]any, error) {
	ep := a.endpoint
	if v := os.Getenv("FOGBANK_ENDPOINT"); v != "" && ep == "http://127.0.0.1:4566" {
		ep = v
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(ep, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is fogbank running at %s? %w", ep, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		var list []any
		if json.Unmarshal(raw, &list) == nil {
			return map[string]any{"items": list}, nil
		}
		return nil, fmt.Errorf("unexpected answer (%s): %s", resp.Status, raw)
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %v", resp.Status, out["error"])
	}
	return out, nil
}

// offlineFlags select direct access to a stopped server's storage instead
// of the admin endpoints of a running one.
type offlineFlags struct{ dataDir, storage string }

func addOfflineFlags(cmd *cobra.Command, o *offlineFlags) {
	cmd.PersistentFlags().StringVar(&o.dataDir, "data-dir", "", "work on this data directory directly instead of a running server (the server must be stopped)")
	cmd.PersistentFlags().StringVar(&o.storage, "storage", "", "work on this storage directly instead of a running server: embedded | nats-embedded | postgres://… | nats://…")
}

// open returns the identity store of the named storage, or nil when neither
// flag was given (talk to the running server).
func (o offlineFlags) open(ctx context.Context) (*identity.Store, func() error, error) {
	if o.dataDir == "" && o.storage == "" {
		return nil, nil, nil
	}
	st, closeFn, err := server.OpenIdentity(ctx, server.Config{DataDir: o.dataDir, Storage: o.storage})
	if err != nil {
		return nil, nil, fmt.Errorf("open storage: %w", err)
	}
	return st, closeFn, nil
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func newAccountsCmd() *cobra.Command {
	var (
		endpoint, id string
		off          offlineFlags
	)
	cmd := &cobra.Command{Use: "accounts", Short: "Manage accounts of a running Fogbank (or, with --data-dir/--storage, of a stopped one)"}
	addEndpointFlag(cmd, &endpoint)
	addOfflineFlags(cmd, &off)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !identity.ValidAccountID(id) {
				return fmt.Errorf("--id must be 12 digits")
			}
			st, closeFn, err := off.open(cmd.Context())
			if err != nil {
				return err
			}
			if st != nil {
				defer closeFn()
				a, err := st.CreateAccount(cmd.Context(), id)
				if err != nil {
					return err
				}
				printJSON(cmd.OutOrStdout(), a)
				return nil
			}
			out, err := adminClient{endpoint}.do(http.MethodPost, "/_fogbank/accounts", map[string]string{"id": id})
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out)
			return nil
		},
	}
	create.Flags().StringVar(&id, "id", "", "12-digit account id")
	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, closeFn, err := off.open(cmd.Context())
			if err != nil {
				return err
			}
			if st != nil {
				defer closeFn()
				accts, err := st.Accounts(cmd.Context())
				if err != nil {
					return err
				}
				printJSON(cmd.OutOrStdout(), accts)
				return nil
			}
			out, err := adminClient{endpoint}.do(http.MethodGet, "/_fogbank/accounts", nil)
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out["items"])
			return nil
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func newKeysCmd() *cobra.Command {
	var (
		endpoint, account, user string
		off                     offlineFlags
	)
	cmd := &cobra.Command{Use: "keys", Short: "Manage access keys of a running Fogbank (or, with --data-dir/--storage, of a stopped one)"}
	addEndpointFlag(cmd, &endpoint)
	addOfflineFlags(cmd, &off)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an access key for an account (its root, or --user)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, closeFn, err := off.open(cmd.Context())
			if err != nil {
				return err
			}
			if st != nil {
				defer closeFn()
				k, err := st.CreateKey(cmd.Context(), account, user)
				if err != nil {
					return err
				}
				printJSON(cmd.OutOrStdout(), map[string]string{"accessKeyId": k.AccessKeyID, "secretAccessKey": k.Secret, "account": k.Account})
				return nil
			}
			out, err := adminClient{endpoint}.do(http.MethodPost, "/_fogbank/keys", map[string]string{"account": account, "userName": user})
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out)
			return nil
		},
	}
	create.Flags().StringVar(&account, "account", "", "12-digit account id")
	create.Flags().StringVar(&user, "user", "", "IAM user name the key belongs to (default: the account root)")
	cmd.AddCommand(create)
	return cmd
}

func newClockCmd() *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{Use: "clock", Short: "Show or advance the clock of a running Fogbank"}
	addEndpointFlag(cmd, &endpoint)
	cmd.AddCommand(&cobra.Command{
		Use:   "advance DURATION",
		Short: "Move the clock forward (e.g. 90s, 2h)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := time.ParseDuration(args[0]); err != nil {
				return err
			}
			out, err := adminClient{endpoint}.do(http.MethodPost, "/_fogbank/clock/advance?by="+args[0], nil)
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out)
			return nil
		},
	}, &cobra.Command{
		Use:   "show",
		Short: "Print the clock",
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := adminClient{endpoint}.do(http.MethodGet, "/_fogbank/clock", nil)
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out)
			return nil
		},
	})
	return cmd
}

func newResetCmd() *cobra.Command {
	var endpoint, svc string
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Wipe the state of a running Fogbank (all, or one --service)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := "/_fogbank/reset"
			if svc != "" {
				path += "?service=" + svc
			}
			out, err := adminClient{endpoint}.do(http.MethodPost, path, nil)
			if err != nil {
				return err
			}
			printJSON(cmd.OutOrStdout(), out)
			return nil
		},
	}
	addEndpointFlag(cmd, &endpoint)
	cmd.Flags().StringVar(&svc, "service", "", "reset only this service")
	return cmd
}
