package botmain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/internal/metric"
	"github.com/botfleet/botfleet/pkg/config"
)

// applySettings hands the botkit settings a config embeds to apply (the
// runtime's Apply, or the bot's CheckSettings for -check-config).
func applySettings(apply func(botkit.Settings) error, cfg any) error {
	if s, ok := cfg.(interface{ BotSettings() *botkit.Settings }); ok {
		return apply(*s.BotSettings())
	}
	return nil
}

// reloader polls the config file and swaps in each new version that loads
// and validates; a broken one keeps the last good config and is reported
// until the file changes again. A file that cannot be read (missing, a
// directory, too large) is reported once per change of the fault, not at
// every poll, and so is its recovery.
type reloader[C any] struct {
	path     string
	required bool
	environ  []string
	interval time.Duration
	live     *botkit.Live[C]
	apply    func(botkit.Settings) error
	logger   *slog.Logger

	hash     [32]byte // of the content last tried
	fault    string   // why the file cannot be read, as last reported; "" when it can
	mu       sync.Mutex
	lastErr  error
	drift    bool       // the file differs from what the last -install-config recorded
	reloads  metric.Vec // botkit_config_reloads_total{result}: config file changes seen (ok, error)
	lastGood *vm.Gauge  // botkit_config_last_reload_ok: 1 if the newest file is in use, 0 if it failed
	drifted  *vm.Gauge  // botkit_config_drift: 1 while the file differs from what the last sync installed
}

func hashOf(b []byte) [32]byte {
	if b == nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}

func (r *reloader[C]) register(reg *vm.Set) {
	r.reloads = metric.NewVec(reg, "botkit_config_reloads_total", nil, "result")
	r.lastGood = metric.NewVec(reg, "botkit_config_last_reload_ok", nil).Gauge()
	r.lastGood.Set(1)
	r.drifted = metric.NewVec(reg, "botkit_config_drift", nil).Gauge()
}

// Detail is the readiness note about the config.
func (r *reloader[C]) Detail() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d string
	if r.drift {
		d = "config: " + r.path + " differs from what the last sync installed (changed by hand?); the next sync restores Git's version\n"
	}
	if r.lastErr == nil {
		return d
	}
	return d + "config: the newest file failed to load, the last good one is in use: " + r.lastErr.Error() + "\n"
}

// checkDrift compares content with the record the last -install-config
// wrote beside the file (RecordPath), and reports a change of that state
// once. With no record (a local run, a file put there by hand before
// syncs installed it) there is nothing to compare with.
func (r *reloader[C]) checkDrift(content []byte) {
	recorded, err := readRecord(RecordPath(r.path))
	drift := err == nil && recorded != "" && recorded != sha256Hex(content)
	r.mu.Lock()
	was := r.drift
	r.drift = drift
	r.mu.Unlock()
	if drift == was {
		return
	}
	if drift {
		r.drifted.Set(1)
		r.logger.Warn("config drift: the file differs from what the last sync installed; the next sync restores Git's version", "file", r.path, "sha256", sha256Hex(content), "installed_sha256", recorded)
		return
	}
	r.drifted.Set(0)
	r.logger.Info("config drift ended: the file is what the last sync installed", "file", r.path)
}

func (r *reloader[C]) run(ctx context.Context) {
	if r.interval <= 0 {
		return
	}
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check()
		}
	}
}

// check reloads the file if its content changed. Content, not mtime: NFS
// attribute caching can hide an mtime change for a while.
func (r *reloader[C]) check() {
	content, err := config.ReadFile(r.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !r.required && r.hash == ([32]byte{}) && r.fault == "" {
			return // never had a file; still on defaults
		}
		if err.Error() == r.fault {
			return // reported when it began
		}
		r.fault, r.hash = err.Error(), [32]byte{}
		r.failed(err)
		return
	}
	r.checkDrift(content)
	h := hashOf(content)
	if r.fault == "" && bytes.Equal(h[:], r.hash[:]) {
		return
	}
	r.fault, r.hash = "", h
	cfg := new(C)
	loaded, err := config.Load(cfg, config.Options{Path: r.path, Required: true, Environ: r.environ, Content: content})
	if err == nil {
		if aerr := applySettings(r.apply, cfg); aerr != nil {
			err = loaded.Locate(aerr)
		}
	}
	if err != nil {
		r.failed(err)
		return
	}
	r.mu.Lock()
	r.lastErr = nil
	r.mu.Unlock()
	r.live.Store(cfg)
	r.reloads.Counter("ok").Inc()
	r.lastGood.Set(1)
	r.logger.Info("config reloaded", "file", r.path)
}

func (r *reloader[C]) failed(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	r.reloads.Counter("error").Inc()
	r.lastGood.Set(0)
	r.logger.Error("config reload failed; keeping the last good config", "file", r.path, "err", err)
}
