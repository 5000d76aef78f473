package main

import (
	"context"
	"errors"

	"github.com/botfleet/botfleet/pkg/botkit"
)

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
	return nil
}
