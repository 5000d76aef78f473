package botkit

import "log/slog"

// Env is what a bot's setup function gets besides the bot and its config:
// where it runs and how to log.
type Env struct {
	// Name is the environment: local, dev or prd (BOT_ENV).
	Name string
	// Logger is the bot's logger, tagged with its name.
	Logger *slog.Logger
}

// Environments a bot can run in (BOT_ENV).
const (
	EnvLocal = "local"
	EnvDev   = "dev"
	EnvPrd   = "prd"
)
