package botkit

import "log/slog"

// Env is what a bot's setup function gets besides the bot and its config:
// where it runs and how to log.
type Env struct {
	// Name is the environment: local, dev or prd (BOT_ENV).
	Name string
	// Logger is the bot's logger, tagged with its name.
	Logger *slog.Logger
	// Getenv reads the process's environment (injected by the runner):
	// secrets such as a webhook's come from it, never from the config.
	Getenv func(name string) string
	// StateDir is the bot's state directory (BOT_STATE_DIR), shared by
	// every process of the bot; "" when it has none. Jobs live in its
	// jobs/ (package jobs).
	StateDir string
}

// Secret returns the environment variable name as a Secret; "" when it is
// unset or Getenv is nil.
func (e Env) Secret(name string) Secret {
	if e.Getenv == nil {
		return ""
	}
	return Secret(e.Getenv(name))
}

// Environments a bot can run in (BOT_ENV).
const (
	EnvLocal = "local"
	EnvDev   = "dev"
	EnvPrd   = "prd"
)

// Log returns Logger, or a logger that discards when Logger is nil (a test
// that calls setup with a bare Env).
func (e Env) Log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}
