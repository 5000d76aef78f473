package botmain

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// runtimeConfig is the bot's runtime controls, read from BOT_* variables.
// They are kept apart from the bot's own config (BOT_CFG_*).
type runtimeConfig struct {
	env            string
	configPath     string
	configRequired bool
	httpAddr       string
	configPoll     time.Duration
	gracePeriod    time.Duration
	logLevel       slog.Level
	logJSON        bool
	stateDir       string // "" keeps interactions in memory
}

// DefaultHTTPAddr serves health, metrics and the HTTP Events API.
const DefaultHTTPAddr = ":8080"

// DefaultConfigPoll is how often the config file is checked for changes.
// EFS is NFS: inotify sees no writes from other clients, so poll.
const DefaultConfigPoll = 5 * time.Second

// EFSConfigDir is where pods find their bots' config files.
const EFSConfigDir = "/efs/config"

// EFSStateDir is where pods find their bots' state directories.
const EFSStateDir = "/efs/state"

// maxGracePeriod bounds BOT_GRACE_PERIOD: a typo like 25h would keep a
// stopping pod around for a day (Kubernetes kills it at its own
// terminationGracePeriodSeconds anyway, which must be set above this).
const maxGracePeriod = 24 * time.Hour

func loadRuntime(name string, env environ, stderrIsTerminal bool) (runtimeConfig, error) {
	rt := runtimeConfig{env: botkit.EnvLocal, httpAddr: DefaultHTTPAddr, configPoll: DefaultConfigPoll, gracePeriod: botkit.DefaultGracePeriod}
	if v := env.get("BOT_ENV"); v != "" {
		switch v {
		case botkit.EnvLocal, botkit.EnvDev, botkit.EnvPrd:
			rt.env = v
		default:
			return rt, fmt.Errorf("BOT_ENV=%q: want local, dev or prd", v)
		}
	}
	switch rt.configPath = env.get("BOT_CONFIG"); {
	case rt.configPath != "":
		rt.configRequired = true
	case rt.env == botkit.EnvLocal:
		rt.configPath = filepath.Join("config", "local.yaml")
	default:
		rt.configPath = filepath.Join(EFSConfigDir, name, rt.env+".yaml")
	}
	switch v := env.get("BOT_STATE_DIR"); {
	case v != "":
		if !filepath.IsAbs(v) {
			return rt, fmt.Errorf("BOT_STATE_DIR=%q: want an absolute path, such as %s/%s", v, EFSStateDir, name)
		}
		rt.stateDir = v
	case rt.env != botkit.EnvLocal:
		// A pod mounts its state directory here; a test or a laptop
		// running as dev or prd has none, and keeps state in memory.
		if info, err := os.Stat(filepath.Join(EFSStateDir, name)); err == nil && info.IsDir() {
			rt.stateDir = filepath.Join(EFSStateDir, name)
		}
	}
	if v := env.get("BOT_HTTP_ADDR"); v != "" {
		rt.httpAddr = v
	}
	if v := env.get("BOT_CONFIG_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return rt, fmt.Errorf("BOT_CONFIG_POLL=%q: want a duration such as 5s, or 0 to turn reloading off", v)
		}
		rt.configPoll = d
	}
	if v := env.get("BOT_GRACE_PERIOD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxGracePeriod {
			return rt, fmt.Errorf("BOT_GRACE_PERIOD=%q: want a duration such as 25s or 35m (at most %s); keep it under the pod's terminationGracePeriodSeconds", v, maxGracePeriod)
		}
		rt.gracePeriod = d
	}
	if v := env.get("BOT_LOG_LEVEL"); v != "" {
		if err := rt.logLevel.UnmarshalText([]byte(v)); err != nil {
			return rt, fmt.Errorf("BOT_LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	switch v := strings.ToLower(env.get("BOT_LOG_FORMAT")); v {
	case "json":
		rt.logJSON = true
	case "text":
	case "":
		// JSON where logs are collected (a pod), text for a person.
		rt.logJSON = rt.env != botkit.EnvLocal || env.get("KUBERNETES_SERVICE_HOST") != ""
	default:
		return rt, fmt.Errorf("BOT_LOG_FORMAT=%q: want json or text", v)
	}
	return rt, nil
}

func (rt runtimeConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: rt.logLevel}
	if rt.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
