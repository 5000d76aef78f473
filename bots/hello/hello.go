package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// tick is how often launch edits its countdown. Its tests run in a
// synctest bubble, where a second passes at once.
const tick = time.Second

// defaultCountdown is launch's countdown when none is given, in seconds.
const defaultCountdown = 5

// Config is hello's config file (config/local.yaml, or
// /efs/config/hello/<env>.yaml in a pod).
type Config struct {
	// Settings are botkit's: access rules, audit channel, rate limit.
	botkit.Settings `yaml:",inline"`
	// Greeting starts the answer to whoami.
	Greeting string `yaml:"greeting"`
}

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() { c.Greeting = "Hello" }

// Validate implements config.Validator.
func (c *Config) Validate() error {
	if c.Greeting == "" {
		return errors.New("key greeting: must not be empty")
	}
	return nil
}

func setup(_ context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	}, botkit.Describe("Check that I am alive"))

	b.Command("echo {text...}", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, botkit.Escape(req.Arg("text")))
		return err
	}, botkit.Describe("Repeat the text"), botkit.Example("echo hello world"))

	b.Command("whoami", func(ctx context.Context, req *botkit.Request) error {
		cfg := live.Load()
		_, err := req.Replyf(ctx, "%s <@%s>! You are `%s` in `%s`, talking to the %s bot in %s.",
			botkit.Escape(cfg.Greeting), req.User, req.User, req.Channel, b.Name(), env.Name)
		return err
	}, botkit.Describe("Show who you are to me"))

	// launch shows the parts a dangerous command uses: a typed argument
	// (checked before anything runs), a confirmation (the command waits
	// parked, holding no worker, and runs on Confirm), one message edited as
	// work goes on, and a context that ends on timeout.
	b.Command("launch [in {seconds:1..60}]", func(ctx context.Context, req *botkit.Request) error {
		secs := req.Int("seconds", defaultCountdown)
		ref, err := req.Reply(ctx, fmt.Sprintf("🚀 T-%d", secs))
		if err != nil {
			return err
		}
		t := time.NewTicker(tick)
		defer t.Stop()
		for left := secs - 1; left > 0; left-- {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
			if err := req.Update(ctx, ref, fmt.Sprintf("🚀 T-%d", left)); err != nil {
				return err
			}
		}
		<-t.C
		return req.Update(ctx, ref, "🚀 Liftoff!")
	}, botkit.Describe("Count down and launch, after you confirm"), botkit.Example("launch in 10"), botkit.Timeout(10*time.Minute),
		botkit.Confirm(func(_ context.Context, req *botkit.Request) (string, error) {
			return fmt.Sprintf("Launch the rocket in %d s?", req.Int("seconds", defaultCountdown)), nil
		}))
	return nil
}
