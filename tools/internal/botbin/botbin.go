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
// into Dir. It is safe for concurrent use.
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
// Cancelling ctx stops the build or the run.
func (c *Checker) CheckConfig(ctx context.Context, bot, env, file string) error {
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

// build builds bot once, in the workspace (as `go test` builds it).
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
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+filepath.ToSlash(filepath.Join("bots", bot)))
	cmd.Dir = c.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("building bots/%s to check its config: %w\n%s", bot, err, bytes.TrimSpace(out))
	}
	c.built[bot] = err
	return bin, err
}
