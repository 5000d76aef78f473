package botkit

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// The runner applies them with Runtime.Apply at start and on every reload.
type Settings struct {
	Access    AccessConfig    `yaml:"access"`
	Audit     AuditConfig     `yaml:"audit"`
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	Schedule  ScheduleConfig  `yaml:"schedule"`
}

// RetiredKeys implements config.Retirer: keys botkit's settings had. A
// bot whose config has retired keys of its own adds these to them.
func (Settings) RetiredKeys() map[string]string {
	return map[string]string{"state.dir": "scheduled jobs keep their state in $BOT_STATE_DIR/schedule: set BOT_STATE_DIR (the bot's state directory, /efs/state/<bot> in a pod) instead"}
}

// ScheduleConfig sets where scheduled jobs (Bot.Schedule) post.
type ScheduleConfig struct {
	// Channel is where a job's Reply posts (a channel ID).
	Channel string `yaml:"channel"`
	// ErrorsChannel, if set, gets a line for each job run that fails, times
	// out or panics, and for each tick that cannot be claimed; the log gets
	// them either way.
	ErrorsChannel string `yaml:"errors_channel"`
	// Jobs changes jobs by name: schedule.jobs.<name>.cron.
	Jobs map[string]JobSettings `yaml:"jobs"`
}

// JobSettings change one scheduled job from the config.
type JobSettings struct {
	// Cron replaces the cron expression the job was registered with,
	// read in the job's zone: run a report hourly in dev and daily in prd,
	// or every minute in a test. A reload takes it at once.
	Cron string `yaml:"cron"`
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
	// ApprovalChannel, if set, gets every approval request too (a
	// channel ID), besides the requester's thread.
	ApprovalChannel string `yaml:"approval_channel"`
	Rules           []Rule `yaml:"rules"`
}

// Rule allows a command, or a command with given argument values, to some
// users. A rule that lists users or groups admits their members; one that
// lists channels admits runs in those channels; one that lists both needs
// both; one that lists neither admits nobody (a deny rule), unless it asks
// for an approval: then it admits everyone, subject to the approval.
type Rule struct {
	// Name identifies the rule in denials and logs; default: the command
	// and args, e.g. "deploy env=prd".
	Name string `yaml:"name"`
	// Command names the command the rule is about (slash commands run
	// commands, so it holds for them too); or, for the bot's other
	// listeners, one of Action (an action_id), View (a modal's
	// callback_id), Shortcut (a callback_id) or Event (an event type).
	// A rule names exactly one.
	Command  string `yaml:"command"`
	Action   string `yaml:"action"`
	View     string `yaml:"view"`
	Shortcut string `yaml:"shortcut"`
	Event    string `yaml:"event"`
	// Args narrows the rule to runs with these argument values, e.g.
	// {env: prd}. Only typed arguments ({env:name}, {n:int}, choices...)
	// can be named: each value has one spelling, made once when the
	// command is parsed, which the rule, the audit line and the handler all
	// see. A rule's value is put in that spelling too ("PRD" is "prd").
	Args     map[string]string `yaml:"args"`
	Users    []string          `yaml:"users"`
	Groups   []string          `yaml:"groups"` // Slack user group IDs (S...)
	Channels []string          `yaml:"channels"`
	// Confirm makes the user confirm with a button before the command runs.
	Confirm bool `yaml:"confirm"`
	// Approve makes the run wait for others' approval (after the
	// confirmation, if Confirm is set too).
	Approve *Approval `yaml:"approve"`
	Contact string    `yaml:"contact"`
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

// compiled is settings checked against the bot's commands, ready to use:
// rules named, their argument values in each command's canonical spelling.
type compiled struct {
	Settings
	rules   []compiledRule
	timings map[string]*timing // jobs' cron expressions from schedule.jobs, by name
}

type compiledRule struct {
	*Rule
	// args holds, for each command the rule names that has all its
	// arguments, their canonical values by parameter index.
	args map[*Command][]ruleArg
}

type ruleArg struct {
	index int
	value string
}

// CheckSettings reports whether s fits the bot's commands: every rule names
// a command and arguments it has, with values those arguments can take; IDs
// look like Slack IDs; policies are known. The error lists every problem,
// one per line, each naming its key.
func (b *Bot) CheckSettings(s Settings) error {
	_, err := b.compileSettings(s)
	return err
}

func (b *Bot) compileSettings(s Settings) (*compiled, error) {
	c := &compiled{Settings: s}
	c.Access.Rules = slices.Clone(s.Access.Rules)
	var errs []error
	switch s.Access.Default {
	case "", PolicyAllow, PolicyDeny:
	default:
		errs = append(errs, fmt.Errorf("key access.default: %q is not allow or deny", s.Access.Default))
	}
	for i := range c.Access.Rules {
		r := &c.Access.Rules[i]
		key := fmt.Sprintf("access.rules[%d]", i)
		cr, rerrs := b.compileRule(key, r)
		errs = append(errs, rerrs...)
		if r.Name == "" {
			r.Name = ruleName(r)
		}
		if len(rerrs) == 0 {
			c.rules = append(c.rules, cr)
		}
		for _, u := range r.Users {
			if !slackID(u, "UW") {
				errs = append(errs, fmt.Errorf("key %s.users: %q is not a Slack user ID (U…)", key, u))
			}
		}
		for _, g := range r.Groups {
			if !slackID(g, "S") {
				errs = append(errs, fmt.Errorf("key %s.groups: %q is not a Slack user group ID (S…)", key, g))
			}
		}
		if r.Approve != nil {
			if r.Command == "" || r.Action != "" || r.View != "" || r.Shortcut != "" || r.Event != "" {
				errs = append(errs, fmt.Errorf("key %s.approve: only a rule on a command can ask for an approval", key))
			}
			errs = append(errs, r.Approve.check(key+".approve")...)
		}
		for _, ch := range r.Channels {
			if !slackID(ch, "CGD") {
				errs = append(errs, fmt.Errorf("key %s.channels: %q is not a Slack channel ID (C…)", key, ch))
			}
		}
	}
	if ch := s.Access.ApprovalChannel; ch != "" && !slackID(ch, "CG") {
		errs = append(errs, fmt.Errorf("key access.approval_channel: %q is not a Slack channel ID (C…)", ch))
	}
	if s.RateLimit.PerMinute < 0 {
		errs = append(errs, fmt.Errorf("key rate_limit.per_minute: must not be negative"))
	}
	if s.Audit.Channel != "" && !slackID(s.Audit.Channel, "CG") {
		errs = append(errs, fmt.Errorf("key audit.channel: %q is not a Slack channel ID (C…)", s.Audit.Channel))
	}
	for _, k := range []struct{ key, id string }{{"schedule.channel", s.Schedule.Channel}, {"schedule.errors_channel", s.Schedule.ErrorsChannel}} {
		if k.id != "" && !slackID(k.id, "CG") {
			errs = append(errs, fmt.Errorf("key %s: %q is not a Slack channel ID (C…)", k.key, k.id))
		}
	}
	errs = append(errs, b.compileJobs(c)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// compileJobs parses the cron expressions of schedule.jobs into c.
func (b *Bot) compileJobs(c *compiled) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Schedule.Jobs)) {
		key := "schedule.jobs." + name
		i := slices.IndexFunc(b.jobs, func(j *Job) bool { return j.name == name })
		if i < 0 {
			known := make([]string, len(b.jobs))
			for k, j := range b.jobs {
				known[k] = j.name
			}
			have := "it has none"
			if len(known) > 0 {
				have = "its jobs are " + strings.Join(known, ", ")
			}
			errs = append(errs, fmt.Errorf("key %s: the bot has no scheduled job %q; %s", key, name, have))
			continue
		}
		spec := c.Schedule.Jobs[name].Cron
		if strings.TrimSpace(spec) == "" {
			errs = append(errs, fmt.Errorf("key %s.cron: empty: give a five-field cron expression (minute hour day-of-month month day-of-week), or remove the key to keep the job's own %q", key, b.jobs[i].Spec()))
			continue
		}
		tm, err := b.jobs[i].parse(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s.cron: %w", key, err))
			continue
		}
		if c.timings == nil {
			c.timings = map[string]*timing{}
		}
		c.timings[name] = tm
	}
	return errs
}

// compileRule puts r's argument values in the canonical spelling of each
// command it applies to.
func (b *Bot) compileRule(key string, r *Rule) (compiledRule, []error) {
	cr := compiledRule{Rule: r, args: map[*Command][]ruleArg{}}
	targets := 0
	for _, t := range []string{r.Command, r.Action, r.View, r.Shortcut, r.Event} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return cr, []error{fmt.Errorf("key %s: a rule names exactly one of command, action, view, shortcut or event; this one names %d", key, targets)}
	}
	if r.Command == "" {
		kind, id, field := r.listener()
		c, ok := b.listeners[listenerKey{kind, id}]
		if !ok {
			return cr, []error{fmt.Errorf("key %s.%s: the bot has no %s %q", key, field, kind, id)}
		}
		if len(r.Args) > 0 {
			return cr, []error{fmt.Errorf("key %s.args: a rule on a %s has no arguments to match", key, kind)}
		}
		r.Command = c.Name() // rules decide by command name
		cr.args[c] = nil
		return cr, nil
	}
	cmds := b.commandsNamed(r.Command)
	if len(cmds) == 0 {
		return cr, []error{fmt.Errorf("key %s.command: unknown command %q (commands: %s)", key, r.Command, strings.Join(b.names(), ", "))}
	}
	var errs []error
	names := make([]string, 0, len(r.Args))
	for name := range r.Args {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.ContainsFunc(cmds, func(c *Command) bool { return slices.Contains(c.pat.params, name) }) {
			errs = append(errs, fmt.Errorf("key %s.args.%s: command %q has no argument %q", key, name, r.Command, name))
		}
	}
	if len(errs) > 0 {
		return cr, errs
	}
cmds:
	for _, c := range cmds {
		var args []ruleArg
		for _, name := range names {
			i := slices.Index(c.pat.params, name)
			if i < 0 {
				continue cmds // this command cannot match the rule
			}
			t := c.pat.types[i]
			if t == nil || !t.ruleable {
				errs = append(errs, fmt.Errorf("key %s.args.%s: argument %q of %q is free text, which has many spellings; a rule can only match a typed argument such as {%s:name} or {%s:a|b}",
					key, name, name, c.pat.src, name, name))
				continue cmds
			}
			v, err := t.canonical(r.Args[name])
			if err != nil {
				errs = append(errs, fmt.Errorf("key %s.args.%s: %q %v, so no run of %q can match it", key, name, r.Args[name], err, c.pat.src))
				continue cmds
			}
			args = append(args, ruleArg{index: i, value: v})
		}
		cr.args[c] = args
	}
	return cr, errs
}

// ruleName is a rule's default name: its command and args, "deploy env=prd".
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

// listener returns the kind and ID of the listener a rule names, and its
// key in the config.
func (r *Rule) listener() (Kind, string, string) {
	switch {
	case r.Action != "":
		return KindAction, r.Action, "action"
	case r.View != "":
		return KindView, r.View, "view"
	case r.Shortcut != "":
		return KindShortcut, r.Shortcut, "shortcut"
	}
	return KindEvent, r.Event, "event"
}
