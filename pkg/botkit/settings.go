package botkit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Settings are what botkit itself reads from a bot's config file: access
// rules, the audit channel and the rate limit. A bot's config struct embeds
// them inline, so they sit at the top of its YAML:
//
//	type Config struct {
//		botkit.Settings `yaml:",inline"`
//		Apps map[string]App `yaml:"apps"`
//	}
//
// The runner applies them with Bot.Apply at start and on every reload.
type Settings struct {
	Access    AccessConfig    `yaml:"access"`
	Audit     AuditConfig     `yaml:"audit"`
	RateLimit RateLimitConfig `yaml:"rate_limit"`
}

// BotSettings returns s; the runner finds the settings of any config struct
// that embeds Settings through this method.
func (s *Settings) BotSettings() *Settings { return s }

// AccessConfig decides who may run what.
//
// For each command run, the rules naming the command whose args all match
// the run's arguments apply; of those, the most specific (most args) decide,
// and the run is allowed if one of them allows the user. With no rule,
// Default decides.
type AccessConfig struct {
	// Default is "allow" (the default) or "deny", for commands no rule
	// names.
	Default string `yaml:"default"`
	// Contact is who to ask for access, shown on every denial unless the
	// rule has its own: a name, a channel (<#C123>) or a group (<!subteam^S123>).
	Contact string `yaml:"contact"`
	Rules   []Rule `yaml:"rules"`
}

// Rule allows a command, or a command with given argument values, to some
// users. A rule that lists users or groups admits their members; one that
// lists channels admits runs in those channels; one that lists both needs
// both; one that lists neither admits nobody (a deny rule).
type Rule struct {
	// Name identifies the rule in denials and logs; default: the command
	// and args, e.g. "deploy env=prd".
	Name    string `yaml:"name"`
	Command string `yaml:"command"`
	// Args narrows the rule to runs with these argument values (compared
	// without regard to case), e.g. {env: prd}.
	Args     map[string]string `yaml:"args"`
	Users    []string          `yaml:"users"`
	Groups   []string          `yaml:"groups"` // Slack user group IDs (S...)
	Channels []string          `yaml:"channels"`
	// Confirm makes the user confirm with a button before the command runs.
	Confirm bool   `yaml:"confirm"`
	Contact string `yaml:"contact"`
}

// AuditConfig sets where the audit trail goes besides the log.
type AuditConfig struct {
	// Channel, if set, gets one line per command run (a channel ID).
	Channel string `yaml:"channel"`
}

// RateLimitConfig limits how fast one user can run commands; off when zero.
type RateLimitConfig struct {
	PerMinute int `yaml:"per_minute"`
}

// Access policies.
const (
	PolicyAllow = "allow"
	PolicyDeny  = "deny"
)

// settingsHolder is the bot's current settings, swapped whole on reload so
// each command sees one consistent version.
type settingsHolder struct{ p atomic.Pointer[Settings] }

func (h *settingsHolder) load() *Settings {
	if s := h.p.Load(); s != nil {
		return s
	}
	return &Settings{}
}

// Apply checks s against the bot's commands and makes it current. A rule
// that names an unknown command or argument, or a bad policy, is an error
// and nothing changes: a typo must not become a silent no-op. It is safe to
// call while the bot runs (config reloads do).
func (b *Bot) Apply(s Settings) error {
	if err := b.validateSettings(&s); err != nil {
		return err
	}
	for i := range s.Access.Rules {
		r := &s.Access.Rules[i]
		if r.Name == "" {
			r.Name = ruleName(r)
		}
	}
	b.settings.p.Store(&s)
	b.limiter.setRate(s.RateLimit.PerMinute)
	return nil
}

func ruleName(r *Rule) string {
	parts := []string{r.Command}
	keys := make([]string, 0, len(r.Args))
	for k := range r.Args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+r.Args[k])
	}
	return strings.Join(parts, " ")
}

func (b *Bot) validateSettings(s *Settings) error {
	var errs []error
	switch s.Access.Default {
	case "", PolicyAllow, PolicyDeny:
	default:
		errs = append(errs, fmt.Errorf("key access.default: %q is not allow or deny", s.Access.Default))
	}
	for i, r := range s.Access.Rules {
		key := fmt.Sprintf("access.rules[%d]", i)
		cmds := b.commandsNamed(r.Command)
		if len(cmds) == 0 {
			errs = append(errs, fmt.Errorf("key %s.command: unknown command %q (commands: %s)", key, r.Command, strings.Join(b.names(), ", ")))
			continue
		}
		for arg := range r.Args {
			if !slices.ContainsFunc(cmds, func(c *Command) bool { return slices.Contains(c.pat.params, arg) }) {
				errs = append(errs, fmt.Errorf("key %s.args.%s: command %q has no argument %q", key, arg, r.Command, arg))
			}
		}
		for _, u := range r.Users {
			if !strings.HasPrefix(u, "U") && !strings.HasPrefix(u, "W") {
				errs = append(errs, fmt.Errorf("key %s.users: %q is not a Slack user ID (U…)", key, u))
			}
		}
		for _, g := range r.Groups {
			if !strings.HasPrefix(g, "S") {
				errs = append(errs, fmt.Errorf("key %s.groups: %q is not a Slack user group ID (S…)", key, g))
			}
		}
		for _, c := range r.Channels {
			if !strings.HasPrefix(c, "C") && !strings.HasPrefix(c, "G") && !strings.HasPrefix(c, "D") {
				errs = append(errs, fmt.Errorf("key %s.channels: %q is not a Slack channel ID (C…)", key, c))
			}
		}
	}
	if s.RateLimit.PerMinute < 0 {
		errs = append(errs, fmt.Errorf("key rate_limit.per_minute: must not be negative"))
	}
	if s.Audit.Channel != "" && !strings.HasPrefix(s.Audit.Channel, "C") && !strings.HasPrefix(s.Audit.Channel, "G") {
		errs = append(errs, fmt.Errorf("key audit.channel: %q is not a Slack channel ID (C…)", s.Audit.Channel))
	}
	return errors.Join(errs...)
}

func (b *Bot) commandsNamed(name string) []*Command {
	var out []*Command
	for _, c := range b.cmds {
		if c.Name() == strings.ToLower(name) {
			out = append(out, c)
		}
	}
	return out
}

func (b *Bot) names() []string {
	var out []string
	for _, c := range b.cmds {
		if !slices.Contains(out, c.Name()) {
			out = append(out, c.Name())
		}
	}
	return out
}
