package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

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

	// morning is a scheduled job: the clock starts it, on weekdays at 9 in
	// Paris, and it posts in the channel the config's schedule.channel names.
	b.Schedule("morning", "0 9 * * MON-FRI", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "%s, it is %s morning.", botkit.Escape(live.Load().Greeting), req.Tick().Format("Monday"))
		return err
	}, botkit.In("Europe/Paris"), botkit.Describe("Greet the channel on weekday mornings"))

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
	interactions(b, env)
	return nil
}

// interactions shows the rest of what a Slack bot can do: a slash command,
// a select with a handler, a modal with a validated field (opened from a
// button, the slash command or a shortcut), and a home tab.
func interactions(b *botkit.Bot, env botkit.Env) {
	// /hello ping runs ping, as @hello ping does: the same patterns,
	// help, access rules and audit.
	b.Slash("/hello", botkit.Describe("Run a hello command"), botkit.Example("ping"))

	b.Command("color", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.ReplyMessage(ctx, botkit.Message{Text: "Pick a color", Blocks: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Pick a color:", false, false), nil,
				slack.NewAccessory(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic,
					slack.NewTextBlockObject(slack.PlainTextType, "Color", false, false), pickColor,
					colorOption("red"), colorOption("green"), colorOption("blue")))),
		}})
		return err
	}, botkit.Describe("Pick a color from a menu"))
	b.Action(pickColor, func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "<@%s> picked %s.", req.User, botkit.Escape(req.Action().Value))
		return err
	})

	b.Command("feedback", func(ctx context.Context, req *botkit.Request) error {
		if req.TriggerID != "" { // a slash command can open the form at once
			_, err := req.OpenView(ctx, feedbackForm())
			return err
		}
		// A mention carries no trigger: a button does.
		_, err := req.ReplyMessage(ctx, botkit.Message{Text: "Tell us what to change", Blocks: []slack.Block{
			slack.NewActionBlock("", slack.NewButtonBlockElement(openFeedback, "open",
				slack.NewTextBlockObject(slack.PlainTextType, "Give feedback", false, false))),
		}})
		return err
	}, botkit.Describe("Tell the team what to change, in a form"))
	b.Action(openFeedback, func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, feedbackForm())
		return err
	})
	b.Shortcut(feedbackCallback, "Give feedback", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, feedbackForm())
		return err
	}, botkit.Describe("Tell the hello team what to change"))
	b.View(feedbackCallback, func(ctx context.Context, req *botkit.Request) error {
		text := strings.TrimSpace(req.Field(feedbackBlock))
		if len(text) < 3 {
			return botkit.FieldErrors{feedbackBlock: "Say a little more: at least 3 characters."}
		}
		_, err := req.Replyf(ctx, "Thanks! Noted: %s", botkit.Escape(text))
		return err
	})

	b.Home(func(ctx context.Context, req *botkit.Request) ([]slack.Block, error) {
		return []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
			"Try `"+botkit.SlashName("/hello", env.Name)+" launch in 10`, or the *Give feedback* shortcut.", false, false), nil, nil)}, nil
	})
}

// IDs of the interactive elements and the form.
const (
	pickColor        = "pick_color"
	openFeedback     = "open_feedback"
	feedbackCallback = "feedback"
	feedbackBlock    = "feedback_text"
)

func colorOption(c string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(c, slack.NewTextBlockObject(slack.PlainTextType, c, false, false), nil)
}

// feedbackForm is the feedback modal: one multi-line input.
func feedbackForm() slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(nil, "text")
	input.Multiline = true
	input.MaxLength = 500
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: feedbackCallback,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Feedback", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Send", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(feedbackBlock, slack.NewTextBlockObject(slack.PlainTextType, "What should change?", false, false), nil, input),
		}}}
}
