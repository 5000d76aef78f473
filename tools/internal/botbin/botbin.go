// Package botbin builds bots' binaries from the repo's workspace and runs
// their own checks, so that tools judge a bot's files with the bot's code
// (its config struct, its loader, its commands) rather than a copy of it.
package botbin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Checker checks config files with each bot's binary, built once per bot
// into Dir, alone (GOWORK=off) as its image is. It is safe for concurrent
// use.
type Checker struct {
	Root string // the repo's root (its go.work)
	Dir  string // where binaries go; a temporary directory the caller removes

	mu    sync.Mutex
	built map[string]error // by bot; nil error when built
}

// CheckConfig runs `<bot> -install-config FILE -dry-run` with BOT_ENV=env
// from the repo's root, as CI's check of the file the sync hook would
// install. file is relative to the root, so the loader's messages name the
// repo's file. The error holds the bot's message (file:line: key: what).
// Cancelling ctx stops the build or the run. A bot with no module
// (bots/<bot>/go.mod), such as a copy of its manifests alone, has no loader
// to run: its files pass.
func (c *Checker) CheckConfig(ctx context.Context, bot, env, file string) error {
	if _, err := os.Stat(filepath.Join(c.Root, "bots", bot, "go.mod")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	bin, err := c.build(ctx, bot)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-install-config", file, "-dry-run")
	cmd.Dir = c.Root
	// Only what the check needs: a BOT_CFG_ override in the caller's shell
	// must not change what the file means.
	cmd.Env = []string{"BOT_ENV=" + env, "BOT_LOG_FORMAT=text"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("running %s -install-config %s -dry-run: %w", bot, file, err)
	}
	return nil
}

// SlackManifest runs `<bot> -slack-manifest` with BOT_ENV=env in the bot's
// directory, with its local config where it has one (what a bot registers
// does not depend on its config, but its setup may need a valid one), as
// `botctl slack-app` does, and returns the Slack app manifest its code
// makes. A bot with no module has no code to ask: nil, nil.
func (c *Checker) SlackManifest(ctx context.Context, bot, env string) ([]byte, error) {
	dir := filepath.Join(c.Root, "bots", bot)
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	bin, err := c.build(ctx, bot)
	if err != nil {
		return nil, err
	}
	cfg := ""
	if _, err := os.Stat(filepath.Join(dir, "config", "local.yaml")); err == nil {
		cfg = filepath.Join("config", "local.yaml")
	}
	cmd := exec.CommandContext(ctx, bin, "-slack-manifest")
	cmd.Dir = dir
	cmd.Env = []string{"BOT_ENV=" + env, "BOT_CONFIG=" + cfg, "BOT_LOG_FORMAT=text"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running %s -slack-manifest: %w: %s", bot, err, strings.Join(strings.Fields(stderr.String()), " "))
	}
	return stdout.Bytes(), nil
}

// build builds bot once.
func (c *Checker) build(ctx context.Context, bot string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	bin := filepath.Join(c.Dir, bot)
	if err, ok := c.built[bot]; ok {
		return bin, err
	}
	if c.built == nil {
		c.built = map[string]error{}
	}
	// Alone, as its image builds it: the workspace may list modules a
	// partial checkout lacks.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(c.Root, "bots", bot)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		// One line: the caller reports each line of an error as a problem.
		err = fmt.Errorf("building bots/%s: %w: %s", bot, err, strings.Join(strings.Fields(string(out)), " "))
	}
	c.built[bot] = err
	return bin, err
}
