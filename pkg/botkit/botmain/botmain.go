// Package botmain is the runner every bot's main.go hands off to: flags,
// logging, config, transport choice from the environment, the health and
// metrics server, signals and graceful shutdown.
//
//	func main() { botmain.Main("hello", setup) }
//
// The contract (env vars, paths, ports) is in docs/architecture.md.
package botmain

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/console"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/config"
)

// Version is the build's version, set with
// -ldflags "-X github.com/botfleet/botfleet/pkg/botkit/botmain.Version=...".
var Version = "dev"

// SetupFunc registers a bot's commands. cfg holds the loaded, validated
// config and follows reloads: handlers call cfg.Load() once at their start.
type SetupFunc[C any] func(ctx context.Context, b *botkit.Bot, cfg *botkit.Live[C], env botkit.Env) error

// Options are the process's surroundings, injected so Run is testable.
type Options struct {
	Args    []string // without the program name
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
	// StdinIsTerminal shows a prompt in the console transport.
	StdinIsTerminal bool
	// StderrIsTerminal makes text the default log format.
	StderrIsTerminal bool
	// Signals stop the bot gracefully; default SIGTERM and SIGINT.
	Signals []os.Signal
}

// Main runs the bot with the process's own surroundings and exits.
func Main[C any](name string, setup SetupFunc[C]) {
	os.Exit(Run(context.Background(), name, setup, Options{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(),
		StdinIsTerminal: isTerminal(os.Stdin), StderrIsTerminal: isTerminal(os.Stderr),
	}))
}

// Exit codes of Run.
const (
	ExitOK     = 0
	ExitFailed = 1 // config, setup or transport error
	ExitUsage  = 2 // bad flags or runtime environment
)

// Run runs the bot until a signal, the end of console input or a fatal
// error, and returns the process's exit code.
func Run[C any](ctx context.Context, name string, setup SetupFunc[C], o Options) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	checkConfig := fs.Bool("check-config", false, "load and validate the config, then exit")
	installFrom := fs.String("install-config", "", "check `FILE` with the bot's loader as -check-config does and install it atomically at BOT_CONFIG (Argo CD's sync hook runs this), then exit")
	dryRun := fs.Bool("dry-run", false, "with -install-config: check FILE only, write nothing (CI runs this)")
	slackManifest := fs.Bool("slack-manifest", false, "print the Slack app manifest of this bot in BOT_ENV (HTTP Events API at BOT_PUBLIC_URL when set, else Socket Mode), then exit")
	scratch := "" // the state directory of a bot set up only to be looked at
	if err := fs.Parse(o.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "%s: unexpected arguments %q; the bot is configured by environment variables (see its README)\n", name, fs.Args())
		return ExitUsage
	}
	if *showVersion {
		fmt.Fprintf(o.Stdout, "%s %s (%s)\n", name, Version, runtime.Version())
		return ExitOK
	}

	env := newEnviron(o.Environ)
	rt, err := loadRuntime(name, env, o.StderrIsTerminal)
	if err != nil {
		fmt.Fprintf(o.Stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	logger := rt.logger(o.Stderr)
	if *installFrom != "" {
		return install(ctx, name, setup, rt, installOptions{src: *installFrom, dryRun: *dryRun, environ: o.Environ, stdout: o.Stdout, stderr: o.Stderr, logger: logger})
	}
	if *dryRun {
		fmt.Fprintf(o.Stderr, "%s: -dry-run goes with -install-config FILE\n", name)
		return ExitUsage
	}

	cfg := new(C)
	loaded, err := config.Load(cfg, config.Options{Path: rt.configPath, Required: rt.configRequired, Environ: o.Environ})
	if err != nil {
		if *checkConfig {
			fmt.Fprintf(o.Stderr, "%v\n", err)
		} else {
			logger.Error("loading config", "err", err)
		}
		return ExitFailed
	}
	if *slackManifest || *checkConfig {
		// A bot set up only to be looked at keeps its state (jobs) in a
		// throwaway directory: a check never touches the real one.
		dir, err := os.MkdirTemp("", "botmain-check-")
		if err != nil {
			fmt.Fprintf(o.Stderr, "making a scratch state directory: %v\n", err)
			return ExitFailed
		}
		defer os.RemoveAll(dir)
		scratch = dir
	}
	if *slackManifest {
		b := botkit.New(name)
		if err := setup(ctx, b, botkit.NewLive(cfg), botkit.Env{Name: rt.env, Logger: slog.New(slog.DiscardHandler), Getenv: env.get, StateDir: scratch}); err != nil {
			fmt.Fprintf(o.Stderr, "setting up the bot: %v\n", err)
			return ExitFailed
		}
		m, err := slack.Manifest(b, slack.ManifestOptions{Env: rt.env, PublicURL: strings.TrimSuffix(env.get("BOT_PUBLIC_URL"), "/")})
		if err != nil {
			fmt.Fprintf(o.Stderr, "%s: %v\n", name, err)
			return ExitFailed
		}
		o.Stdout.Write(m)
		return ExitOK
	}
	if *checkConfig {
		// Access rules name commands: check them against a bot set up with
		// this config, without connecting it anywhere.
		b := botkit.New(name)
		if err := setup(ctx, b, botkit.NewLive(cfg), botkit.Env{Name: rt.env, Logger: slog.New(slog.DiscardHandler), Getenv: env.get, StateDir: scratch}); err != nil {
			fmt.Fprintf(o.Stderr, "setting up the bot: %v\n", err)
			return ExitFailed
		}
		if err := applySettings(b.CheckSettings, cfg); err != nil {
			fmt.Fprintf(o.Stderr, "%v\n", loaded.Locate(err))
			return ExitFailed
		}
		if err := b.CheckRequirements(ctx); err != nil {
			fmt.Fprintf(o.Stderr, "the bot cannot work here: %v\n", err)
			return ExitFailed
		}
		if loaded.FileFound {
			fmt.Fprintf(o.Stdout, "%s: ok\n", rt.configPath)
			return ExitOK
		}
		// The bot would start on its defaults, so the check passes; but
		// whoever runs it meant to check a file, most often from the wrong
		// directory (the local default is relative to it): say so loudly.
		fmt.Fprintf(o.Stderr, "warning: no config file was checked: %s; %s\n", missingConfig(rt), configHint(rt, name))
		fmt.Fprintf(o.Stdout, "no config file; the bot's defaults are valid\n")
		return ExitOK
	}
	if !loaded.FileFound {
		logger.Warn("no config file; using the bot's defaults", "file", missingConfig(rt), "hint", configHint(rt, name))
	}

	ctx, stop := signal.NotifyContext(ctx, o.signals()...)
	defer stop()

	reg := botkit.NewRegistry()
	tr, mode, err := chooseTransport(name, env, o, logger.With("bot", name), reg)
	if err != nil {
		logger.Error("choosing the transport", "err", err)
		return ExitUsage
	}
	if mode == modeConsole && o.StdinIsTerminal && env.get("BOT_LOG_LEVEL") == "" {
		// A person types at a prompt: info lines (one audit line per
		// command) would bury the conversation. Warnings still show.
		rt.logLevel = slog.LevelWarn
		logger = rt.logger(o.Stderr)
		fmt.Fprintf(o.Stderr, "%s %s: type a command (help lists them); logs show warnings and errors only (BOT_LOG_LEVEL=info shows all); Ctrl-D quits\n", name, Version)
	}
	b := botkit.New(name)
	live := botkit.NewLive(cfg)
	if err := setup(ctx, b, live, botkit.Env{Name: rt.env, Logger: logger.With("bot", name), Getenv: env.get, StateDir: rt.stateDir}); err != nil {
		logger.Error("setting up the bot", "err", err)
		return ExitFailed
	}
	opts := []botkit.Option{botkit.WithLogger(logger), botkit.WithRegistry(reg), botkit.WithGracePeriod(rt.gracePeriod),
		botkit.WithEnvironment(rt.env)}
	state := "memory"
	if rt.stateDir != "" {
		// Made here, so that a directory the bot cannot write is a
		// clear error at start rather than a panic in NewRuntime.
		if err := writable(filepath.Join(rt.stateDir, botkit.InteractionsDir)); err != nil {
			logger.Error("the state directory (BOT_STATE_DIR) is not usable", "state_dir", rt.stateDir, "err", err)
			return ExitUsage
		}
		opts = append(opts, botkit.WithStateDir(rt.stateDir))
		state = rt.stateDir
	}
	runtime := botkit.NewRuntime(b, opts...)
	logger = runtime.Logger()
	if err := applySettings(runtime.Apply, cfg); err != nil {
		logger.Error("loading config", "err", loaded.Locate(err))
		return ExitFailed
	}
	if err := b.CheckRequirements(ctx); err != nil {
		// Not fatal: commands that need nothing missing still work, and
		// /readyz says what is missing until it is there.
		logger.Error("the bot cannot fully work here", "err", err)
	}
	rl := &reloader[C]{
		path: rt.configPath, required: rt.configRequired, environ: o.Environ, interval: rt.configPoll,
		live: live, apply: runtime.Apply, logger: logger, hash: hashOf(loaded.Content),
	}
	rl.register(reg)
	go rl.run(ctx)
	if dir := env.get("BOT_SECRETS_DIR"); dir != "" && rt.configPoll > 0 {
		var restart context.CancelFunc
		ctx, restart = context.WithCancel(ctx)
		defer restart()
		go (&secretsWatcher{dir: dir, interval: rt.configPoll, logger: logger, stop: restart}).run(ctx)
	}
	logger.Info("starting", "version", Version, "env", rt.env, "transport", mode, "config", rt.configPath, "grace", rt.gracePeriod, "state", state)

	srv, err := startHTTP(rt.httpAddr, reg, tr, runtime, rl, logger)
	if err != nil {
		if mode != modeConsole {
			logger.Error("starting the HTTP server", "addr", rt.httpAddr, "err", err)
			return ExitFailed
		}
		// Locally the port is a convenience; another bot may hold it.
		logger.Warn("no HTTP server (health, metrics) in console mode", "addr", rt.httpAddr, "err", err)
	}

	runErr := runtime.Run(ctx, tr)
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	if runErr != nil {
		logger.Error("bot stopped with an error", "err", runErr)
		return ExitFailed
	}
	return ExitOK
}

// missingConfig says which file is missing: the default path is relative
// to the working directory, so name that too.
func missingConfig(rt runtimeConfig) string {
	if filepath.IsAbs(rt.configPath) {
		return rt.configPath + " does not exist"
	}
	wd, err := os.Getwd()
	if err != nil {
		return rt.configPath + " does not exist"
	}
	return fmt.Sprintf("%s does not exist in %s", rt.configPath, wd)
}

// configHint says how to name the file, with the bot's own local config
// when it is found from the repository's root.
func configHint(rt runtimeConfig, name string) string {
	if filepath.IsAbs(rt.configPath) {
		return "write it there, or set BOT_CONFIG to the file"
	}
	if own := filepath.Join("bots", name, rt.configPath); fileExists(own) {
		return fmt.Sprintf("run the bot from bots/%s, or set BOT_CONFIG=%s", name, own)
	}
	return "run the bot from its directory (bots/" + name + "), or set BOT_CONFIG to the file"
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func (o Options) signals() []os.Signal {
	if len(o.Signals) > 0 {
		return o.Signals
	}
	return []os.Signal{syscall.SIGTERM, os.Interrupt}
}

// Transport modes, as logged.
const (
	modeConsole = "console"
	modeSocket  = "socket-mode"
	modeHTTP    = "http-events"
)

func chooseTransport(name string, env environ, o Options, logger *slog.Logger, reg *vm.Set) (botkit.Transport, string, error) {
	appToken, signing, botToken := env.get("SLACK_APP_TOKEN"), env.get("SLACK_SIGNING_SECRET"), env.get("SLACK_BOT_TOKEN")
	web := slack.Config{BotToken: botkit.Secret(botToken), AppToken: botkit.Secret(appToken), APIURL: env.get("SLACK_API_URL"), Logger: logger}
	switch {
	case (appToken != "" || signing != "") && botToken == "":
		return nil, "", errors.New("SLACK_BOT_TOKEN is not set; a Slack transport needs it with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API)")
	case appToken != "":
		return slack.NewSocket(slack.SocketConfig{Config: web, Registry: reg}), modeSocket, nil
	case signing != "":
		return slack.NewHTTP(slack.HTTPConfig{Config: web, SigningSecret: botkit.Secret(signing)}), modeHTTP, nil
	case botToken != "":
		return nil, "", errors.New("SLACK_BOT_TOKEN is set without SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API); set one of them, or unset it for the console")
	}
	opts := []console.Option{console.WithTranscript()}
	if o.StdinIsTerminal {
		opts = []console.Option{console.WithPrompt()}
	}
	return console.New(name, o.Stdin, o.Stdout, opts...), modeConsole, nil
}

// startHTTP serves /healthz, /readyz, /metrics and the bot's webhooks on
// addr and logs the bound address (tests use 127.0.0.1:0).
func startHTTP(addr string, reg *vm.Set, tr botkit.Transport, rt *botkit.Runtime, detail interface{ Detail() string }, logger *slog.Logger) (*http.Server, error) {
	b := rt.Bot()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		// A missing program: the bot cannot do its work, so it is not
		// ready, and says what to install.
		if err := b.CheckRequirements(req.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if r, ok := tr.(botkit.Readier); ok {
			if err := r.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		// A failed config reload keeps the last good config: the bot still
		// works, so it stays ready, but says why its config is stale.
		io.WriteString(w, "ok\n"+detail.Detail())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		reg.WritePrometheus(w)
		vm.WriteProcessMetrics(w) // go_* and process_*, as client_golang's collectors
	})
	if r, ok := tr.(interface{ Routes(*http.ServeMux) }); ok {
		r.Routes(mux)
	}
	rt.Routes(mux) // the bot's webhooks, under botkit.HookPrefix
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server stopped", "err", err)
		}
	}()
	logger.Info("http server listening", "addr", ln.Addr().String())
	return srv, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// environ looks variables up in an injected environment.
type environ map[string]string

func newEnviron(kv []string) environ {
	e := environ{}
	for _, s := range kv {
		if k, v, ok := strings.Cut(s, "="); ok {
			e[k] = v
		}
	}
	return e
}

func (e environ) get(k string) string { return e[k] }

// writable makes dir if needed and checks that files can be made in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
