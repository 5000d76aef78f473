package awsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Defaults of Options.
const (
	// DefaultMaxAttempts is how often a call is tried in all, the first
	// try included: the SDK's 3 is short for a throttled API like ECS's.
	DefaultMaxAttempts = 5
	// DefaultMaxBackoff caps the wait between two tries (the SDK's value).
	DefaultMaxBackoff = 20 * time.Second
)

// MaxSessionName is STS's limit on the length of a role session name.
const MaxSessionName = 64

// maxProviders bounds the cached per-user credential providers. A bot has
// at most a few hundred users; past the bound the cache starts over, which
// costs one AssumeRole per user and nothing else.
const maxProviders = 512

// ErrNoRegion is returned by For when neither the target nor the
// environment (AWS_REGION, the profile) names a region.
var ErrNoRegion = errors.New("no AWS region: set one in the config or AWS_REGION")

// Options configure a Loader. The zero value works.
type Options struct {
	// Bot is the bot's name; it starts every role session name.
	Bot string
	// MaxAttempts and MaxBackoff tune the adaptive retryer; zero means
	// DefaultMaxAttempts and DefaultMaxBackoff. Tests shorten MaxBackoff.
	MaxAttempts int
	MaxBackoff  time.Duration
	// HTTPClient, if set, sends every request.
	HTTPClient aws.HTTPClient
	// Logger receives the SDK's own log lines (retries it gives up on,
	// "falling back to IMDSv1"); nil means slog.Default(). The SDK would
	// otherwise print them to stderr, unstructured.
	Logger *slog.Logger
	// LoadOptions are applied after the Loader's own, for anything else
	// config.LoadDefaultConfig can do.
	LoadOptions []func(*config.LoadOptions) error
}

// Target is what one call acts as: in which region, and as which role on
// behalf of which Slack user.
type Target struct {
	// Region overrides the environment's region when set.
	Region string
	// RoleARN, when set, is assumed with STS on top of the base
	// credentials.
	RoleARN string
	// User is the Slack user ID the call is made for; it ends the role
	// session name.
	User string
}

// Loader loads the AWS config once, on first use, and hands out configs
// for targets. It is safe for concurrent use.
type Loader struct {
	opts Options

	mu        sync.Mutex
	base      *aws.Config
	providers map[providerKey]aws.CredentialsProvider
}

type providerKey struct{ role, session, region string }

// New returns a Loader. It reads nothing: see Config.
func New(o Options) *Loader {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return &Loader{opts: o, providers: map[providerKey]aws.CredentialsProvider{}}
}

// Config returns the base config: the SDK's default chain, region and
// endpoints, with adaptive retries. The first call loads it; a failure is
// returned and the next call tries again, a success is kept. Loading reads
// the environment and the shared config files, not the network: credentials
// are fetched by the first request that needs them, under that request's
// context. ctx bounds the loading.
func (l *Loader) Config(ctx context.Context) (aws.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.base != nil {
		return l.base.Copy(), nil
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = l.opts.MaxAttempts
					so.MaxBackoff = l.opts.MaxBackoff
				})
			})
		}),
	}
	logger := l.opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	opts = append(opts, config.WithLogger(sdkLogger{l: logger.With("component", "aws-sdk")}))
	if l.opts.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(l.opts.HTTPClient))
	}
	opts = append(opts, l.opts.LoadOptions...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS config: %w", err)
	}
	l.base = &cfg
	return cfg.Copy(), nil
}

// For returns a config for t: the base config with t's region, and, when t
// names a role, credentials of that role assumed for t's user. The assumed
// credentials are cached per role and user and refreshed before they
// expire, so repeated calls cost one AssumeRole per user per hour. It
// returns ErrNoRegion when no region is known.
func (l *Loader) For(ctx context.Context, t Target) (aws.Config, error) {
	cfg, err := l.Config(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if t.Region != "" {
		cfg.Region = t.Region
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	if t.RoleARN != "" {
		cfg.Credentials = l.assumed(cfg, t.RoleARN, SessionName(l.opts.Bot, t.User))
	}
	return cfg, nil
}

// assumed returns the cached provider of role's credentials for session.
func (l *Loader) assumed(base aws.Config, role, session string) aws.CredentialsProvider {
	key := providerKey{role, session, base.Region}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.providers[key]; ok {
		return p
	}
	if len(l.providers) >= maxProviders {
		clear(l.providers)
	}
	p := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), role,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = session }))
	l.providers[key] = p
	return p
}

var notSessionChar = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName returns the role session name for bot acting for user:
// "bot@user" with characters STS refuses replaced by "-", cut to
// MaxSessionName characters (from the bot's part, so the user stays
// whole), and "bot" alone when user is empty. CloudTrail records it with
// every call made with the session's credentials.
func SessionName(bot, user string) string {
	bot = notSessionChar.ReplaceAllString(bot, "-")
	user = notSessionChar.ReplaceAllString(user, "-")
	if bot == "" {
		bot = "botfleet"
	}
	if user == "" {
		return clip(bot, MaxSessionName)
	}
	user = clip(user, MaxSessionName-2)
	return clip(bot, MaxSessionName-1-len(user)) + "@" + user
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Timeout returns a client API option that bounds each operation, retries
// and credential fetching included, by d: add it to a client's
// Options.APIOptions so no call can hang a command, whatever context the
// caller passes.
func Timeout(d time.Duration) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("botfleetTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}
