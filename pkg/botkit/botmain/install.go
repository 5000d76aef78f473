package botmain

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/botfleet/botfleet/pkg/atomicfile"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/config"
)

// RecordPath is the file beside a config file in which -install-config
// records what it installed: the SHA-256 of the content, in hex, on one
// line. The bot compares its config file with it to see a hand-made change
// (drift); the next sync overwrites both.
func RecordPath(configPath string) string {
	dir, base := filepath.Split(configPath)
	return filepath.Join(dir, "."+base+".sha256")
}

// installResult is what installConfig did.
type installResult struct {
	changed bool   // the file now holds other content than before
	drift   bool   // the file held content the last install did not write
	was     string // the SHA-256 of the file before, hex; "" when it did not exist
	now     string // the SHA-256 of the content installed, hex
}

// installConfig writes content to path atomically: a temporary file in the
// same directory, synced, then renamed over path, so the bot's reloader
// reads either the old file or the new one, never half of one. A subPath
// mount of the directory sees the rename; a directory renamed over the
// mount's root would not be seen. The record (RecordPath) is written the
// same way after the file. Drift is a file that differs from the record,
// or, with no record, from content.
func installConfig(path string, content []byte) (installResult, error) {
	res := installResult{now: sha256Hex(content)}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		res.was = sha256Hex(old)
	case !errors.Is(err, fs.ErrNotExist):
		return res, fmt.Errorf("reading %s: %w", path, err)
	}
	recorded, err := readRecord(RecordPath(path))
	if err != nil {
		return res, err
	}
	if res.was != "" {
		want := recorded
		if want == "" {
			want = res.now
		}
		res.drift = res.was != want
	}
	if !bytes.Equal(old, content) || res.was == "" {
		if err := writeAtomic(path, content); err != nil {
			return res, err
		}
		res.changed = true
	}
	if recorded != res.now {
		if err := writeAtomic(RecordPath(path), []byte(res.now+"\n")); err != nil {
			return res, err
		}
	}
	return res, nil
}

// readRecord returns the hash recorded at p, "" when there is none.
func readRecord(p string) (string, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return strings.TrimSpace(string(data)), nil
}

func sha256Hex(b []byte) string {
	h := hashOf(b)
	return hex.EncodeToString(h[:])
}

// writeAtomic writes data to path, whole or not at all, readable by all
// (the bot runs as another user than a person's shell, but as the same one
// as the hook).
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("installing %s: %w", path, err)
	}
	return nil
}

// installOptions are -install-config's.
type installOptions struct {
	src     string // the file from Git (the hook's ConfigMap)
	dryRun  bool
	environ []string
	stdout  io.Writer
	stderr  io.Writer
	logger  *slog.Logger
}

// install checks o.src as the bot would load it (strict keys, no secrets,
// Validate, access rules against the bot's commands; not the programs the
// bot needs, which are the image's business, not the file's) and, unless
// o.dryRun, installs it at BOT_CONFIG. It returns the exit code.
func install[C any](ctx context.Context, name string, setup SetupFunc[C], rt runtimeConfig, o installOptions) int {
	content, err := config.ReadFile(o.src)
	if err != nil {
		fmt.Fprintf(o.stderr, "%v\n", err)
		return ExitFailed
	}
	cfg := new(C)
	loaded, err := config.Load(cfg, config.Options{Path: o.src, Required: true, Environ: o.environ, Content: content})
	if err != nil {
		fmt.Fprintf(o.stderr, "%v\n", err)
		return ExitFailed
	}
	// The bot is set up to be looked at: its state (jobs) goes to a
	// throwaway directory, never the real one.
	scratch, err := os.MkdirTemp("", "botmain-install-")
	if err != nil {
		fmt.Fprintf(o.stderr, "making a scratch state directory: %v\n", err)
		return ExitFailed
	}
	defer os.RemoveAll(scratch)
	b := botkit.New(name)
	if err := setup(ctx, b, botkit.NewLive(cfg), botkit.Env{Name: rt.env, Logger: slog.New(slog.DiscardHandler), StateDir: scratch}); err != nil {
		fmt.Fprintf(o.stderr, "setting up the bot: %v\n", err)
		return ExitFailed
	}
	if err := applySettings(b.CheckSettings, cfg); err != nil {
		fmt.Fprintf(o.stderr, "%v\n", loaded.Locate(err))
		return ExitFailed
	}
	if o.dryRun {
		fmt.Fprintf(o.stdout, "%s: ok\n", o.src)
		return ExitOK
	}
	if !filepath.IsAbs(rt.configPath) {
		fmt.Fprintf(o.stderr, "%s: -install-config writes BOT_CONFIG, which is %q; set it to the absolute path of the file on EFS (or use -dry-run to check only)\n", name, rt.configPath)
		return ExitUsage
	}
	res, err := installConfig(rt.configPath, content)
	if err != nil {
		o.logger.Error("installing config", "file", rt.configPath, "err", err)
		return ExitFailed
	}
	if res.drift {
		o.logger.Warn("config drift: the file was changed outside Git; restored Git's version",
			"file", rt.configPath, "found_sha256", res.was, "installed_sha256", res.now)
	}
	o.logger.Info("config installed", "file", rt.configPath, "from", o.src, "sha256", res.now, "changed", res.changed, "drift", res.drift)
	return ExitOK
}
