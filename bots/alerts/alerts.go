package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// Config is alerts's config file (config/local.yaml, or
// /efs/config/alerts/<env>.yaml in a pod).
type Config struct {
	// Settings are botkit's: access rules, audit channel, rate limit.
	botkit.Settings `yaml:",inline"`
	// Alertmanager is the API the bot silences and lists through.
	Alertmanager struct {
		URL string `yaml:"url"`
	} `yaml:"alertmanager"`
	// Channel gets the groups no route matches.
	Channel string `yaml:"channel"`
	// Routes send a group to the channel of the first route whose labels
	// all equal the group's common labels.
	Routes []Route `yaml:"routes"`
	// SilenceRules decide who may silence what: a silence whose labels
	// match a rule's is allowed to the rule's users only. With no rule
	// matching, anyone may.
	SilenceRules []SilenceRule `yaml:"silence_rules"`
	// Slack paces the bot under Slack's limits.
	Slack struct {
		PostInterval     time.Duration `yaml:"post_interval"`
		UpdatesPerMinute int           `yaml:"updates_per_minute"`
	} `yaml:"slack"`
}

// Route sends groups with labels Match to Channel.
type Route struct {
	Match   map[string]string `yaml:"match"`
	Channel string            `yaml:"channel"`
}

// SilenceRule allows the silences whose labels match Match to Users and the
// members of Groups (Slack user groups) only.
type SilenceRule struct {
	Name   string            `yaml:"name"`
	Match  map[string]string `yaml:"match"`
	Users  []string          `yaml:"users"`
	Groups []string          `yaml:"groups"`
}

// RetiredKeys implements config.Retirer.
func (c *Config) RetiredKeys() map[string]string {
	keys := c.Settings.RetiredKeys()
	keys["state_dir"] = "the groups are kept in $BOT_STATE_DIR/" + stateSubdir + ": set BOT_STATE_DIR (the bot's state directory, /efs/state/alerts in a pod, where the groups of the old state_dir are moved at start) instead"
	return keys
}

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() {
	c.Alertmanager.URL = "http://localhost:9093"
	c.Channel = "alerts"
	c.Slack.PostInterval = DefaultPostInterval
	c.Slack.UpdatesPerMinute = DefaultUpdatesPerMin
}

var (
	labelNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	userIDRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupIDRE   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
)

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var errs []error
	if _, err := am.NewClient(c.Alertmanager.URL); err != nil {
		errs = append(errs, fmt.Errorf("key alertmanager.url: %w", err))
	}
	if c.Channel == "" {
		errs = append(errs, errors.New("key channel: must not be empty: groups no route matches go there"))
	}
	checkMatch := func(key string, m map[string]string) {
		if len(m) == 0 {
			errs = append(errs, fmt.Errorf("key %s.match: must name at least one label", key))
		}
		for k := range m {
			if !labelNameRE.MatchString(k) {
				errs = append(errs, fmt.Errorf("key %s.match.%s: not a lowercase label name", key, k))
			}
		}
	}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		checkMatch(key, r.Match)
		if r.Channel == "" {
			errs = append(errs, fmt.Errorf("key %s.channel: must not be empty", key))
		}
	}
	for i, r := range c.SilenceRules {
		key := fmt.Sprintf("silence_rules[%d]", i)
		checkMatch(key, r.Match)
		for _, u := range r.Users {
			if !userIDRE.MatchString(u) {
				errs = append(errs, fmt.Errorf("key %s.users: %q is not a Slack user ID (U…)", key, u))
			}
		}
		for _, g := range r.Groups {
			if !groupIDRE.MatchString(g) {
				errs = append(errs, fmt.Errorf("key %s.groups: %q is not a Slack user group ID (S…)", key, g))
			}
		}
	}
	if c.Slack.PostInterval < 0 || c.Slack.UpdatesPerMinute < 1 {
		errs = append(errs, errors.New("key slack: post_interval must not be negative and updates_per_minute must be at least 1"))
	}
	return errors.Join(errs...)
}

// route returns the channel of a group with labels ls.
func (c *Config) route(ls map[string]string) string {
	for _, r := range c.Routes {
		if matches(r.Match, ls) {
			return r.Channel
		}
	}
	return c.Channel
}

// silenceRules returns the rules that decide a silence of labels ls by
// user: those matching ls that do not list user (a listed user is allowed
// by the rule without looking up groups).
func (c *Config) silenceRules(user string, ls map[string]string) []SilenceRule {
	var out []SilenceRule
	for _, r := range c.SilenceRules {
		if matches(r.Match, ls) && !slices.Contains(r.Users, user) {
			out = append(out, r)
		}
	}
	return out
}

func (r SilenceRule) name() string {
	if r.Name != "" {
		return r.Name
	}
	return labelLine(r.Match, nil)
}

func matches(want, ls map[string]string) bool {
	for k, v := range want {
		if ls[k] != v {
			return false
		}
	}
	return true
}

// WebhookPath is where Alertmanager's webhook receiver posts.
const WebhookPath = "/hooks/alertmanager"

// TokenVar holds the bearer token Alertmanager sends
// (http_config.authorization.credentials); it comes from the bot's Secret.
const TokenVar = "ALERTS_WEBHOOK_TOKEN"

// localToken is the token of a bot run on a laptop without TokenVar, so
// that a sample alert can be sent to `make run`.
const localToken = "local"

// boardWorkers is how many Slack calls the board makes at once.
const boardWorkers = 4

func setup(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
	_, err := setupBoard(ctx, b, live, env)
	return err
}

// setupBoard is setup, returning the board it starts: its stopped channel
// closes once it has saved its last state after ctx ends.
func setupBoard(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) (*board, error) {
	token := env.Secret(TokenVar)
	switch {
	case token == "" && env.Name != botkit.EnvLocal:
		// A requirement, not a setup error: the bot does not start
		// without it, while its config can still be checked and installed
		// (-install-config in the sync hook, which has no Secret). Until
		// then the hook's verifier, with no token, refuses every request.
		b.Requires(TokenVar, func(context.Context) error {
			return fmt.Errorf("not set: Alertmanager's webhook needs it (botctl secrets put alerts, see the README)")
		})
	case token == "":
		env.Log().Warn("no webhook token set; taking the local one", "var", TokenVar, "token", localToken)
		token = localToken
	}
	cfg := live.Load()
	bd := newBoard(limits{postInterval: cfg.Slack.PostInterval, updatesPerMin: float64(cfg.Slack.UpdatesPerMinute), updateBurst: DefaultUpdateBurst}, env.Log())
	a := &bot{live: live, board: bd}
	// Without a state directory the groups live in memory only.
	if env.StateDir != "" {
		dir := filepath.Join(env.StateDir, stateSubdir)
		if err := moveOldLayout(env.StateDir, dir); err != nil {
			return nil, err
		}
		if err := bd.useDir(ctx, dir); err != nil {
			return nil, err
		}
	}
	go bd.run(ctx, boardWorkers)
	b.OnStart(func(_ context.Context, p botkit.Poster) error {
		bd.attach(p)
		if gr, ok := p.(botkit.GroupResolver); ok {
			a.setResolver(gr)
		}
		return nil
	})
	b.Webhook(WebhookPath, botkit.Bearer(token), a.notify)
	a.register(b)
	return bd, nil
}

// bot is the alerts bot's handlers.
type bot struct {
	live  *botkit.Live[Config]
	board *board

	mu       sync.Mutex
	resolver botkit.GroupResolver // the transport, when it can list groups
}

func (a *bot) setResolver(gr botkit.GroupResolver) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resolver = gr
}

// maySilence returns nil when user may silence (or expire a silence of)
// alerts with labels ls: every silence rule matching ls admits the user, by
// name or as a member of one of its Slack user groups.
func (a *bot) maySilence(ctx context.Context, user string, ls map[string]string) error {
	a.mu.Lock()
	gr := a.resolver
	a.mu.Unlock()
	for _, r := range a.live.Load().silenceRules(user, ls) {
		admitted := false
		for _, g := range r.Groups {
			if gr == nil {
				return botkit.Userf("Silence rule %q names user groups, which I cannot look up here; ask one of its users.", r.name())
			}
			members, err := gr.GroupMembers(ctx, g)
			if err != nil {
				return &botkit.UserError{Msg: fmt.Sprintf("I could not look up the user groups of silence rule %q; try again in a minute.", r.name()),
					Err: fmt.Errorf("checking silence rule %q: %w", r.name(), err)}
			}
			if slices.Contains(members, user) {
				admitted = true
				break
			}
		}
		if !admitted {
			return botkit.Userf("You may not silence these alerts (silence rule %q); ask their team.", r.name())
		}
	}
	return nil
}

// client returns a client of the Alertmanager the config names now (a
// reload may change it).
func (a *bot) client() (*am.Client, error) {
	c, err := am.NewClient(a.live.Load().Alertmanager.URL)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// notify takes one notification of Alertmanager's webhook.
func (a *bot) notify(ctx context.Context, req *botkit.Request) error {
	m, err := am.ParseMessage(req.Delivery().Body)
	if err != nil {
		return err
	}
	channel := a.live.Load().route(m.CommonLabels)
	result, err := a.board.apply(ctx, m, channel)
	if err != nil {
		return err
	}
	req.Log().Info("notification", "group", m.GroupKey, "status", m.Status, "alerts", len(m.Alerts), "channel", channel, "result", result)
	return nil
}
