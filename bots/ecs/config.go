package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// Config is the ecs bot's config file (config/local.yaml, or
// /efs/config/ecs/<env>.yaml in a pod).
type Config struct {
	// Settings are botkit's: access rules, audit channel, rate limit.
	botkit.Settings `yaml:",inline"`
	// DefaultEnv is the environment of commands that name none.
	DefaultEnv string `yaml:"default_env"`
	// Environments are the ECS environments the bot may touch.
	Environments []Environment `yaml:"environments"`
	// PollInterval is how often a rollout is checked and its message
	// edited; Slack allows about one edit per second per channel, so keep
	// it at 2s or more outside tests.
	PollInterval time.Duration `yaml:"poll_interval"`
	// RolloutTimeout is how long deploy and rollback follow a rollout
	// before they stop watching (the rollout itself goes on).
	RolloutTimeout time.Duration `yaml:"rollout_timeout"`
	// CallTimeout bounds every AWS call, retries included.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// Tags is how many image tags the tags command shows.
	Tags int `yaml:"tags"`
	// Events is how many recent service events status shows.
	Events int `yaml:"events"`
	// Jobs are deploys, rollbacks and scales, kept in BOT_STATE_DIR's
	// jobs/: who may cancel others'.
	Jobs jobs.Config `yaml:"jobs"`
}

// RetiredKeys implements config.Retirer.
func (c *Config) RetiredKeys() map[string]string {
	keys := c.Settings.RetiredKeys()
	keys["jobs.state_dir"] = jobs.RetiredStateDir
	return keys
}

// Environment is one ECS cluster in one account and region.
type Environment struct {
	// Name is what users type after "to" or "in" (dev, prd).
	Name    string `yaml:"name"`
	Cluster string `yaml:"cluster"`
	// Region defaults to AWS_REGION.
	Region string `yaml:"region"`
	// RoleARN, if set, is assumed for every call in this environment,
	// with the Slack user in the session name.
	RoleARN  string    `yaml:"role_arn"`
	Services []Service `yaml:"services"`
}

// Service is an ECS service the bot may touch.
type Service struct {
	Name string `yaml:"name"`
	// Container is the container whose image deploy changes.
	Container string `yaml:"container"`
	// Repository is the ECR repository of the container's image.
	Repository string `yaml:"repository"`
	// MinCount and MaxCount bound scale (defaults 1 and 10; set
	// min_count: 0 to allow scaling to zero).
	MinCount *int `yaml:"min_count"`
	MaxCount int  `yaml:"max_count"`
}

// Defaults of Config.
const (
	defaultPollInterval   = 5 * time.Second
	defaultRolloutTimeout = 20 * time.Minute
	maxRolloutTimeout     = time.Hour // the commands' timeout is set from it at start
	defaultCallTimeout    = 30 * time.Second
	defaultTags           = 10
	defaultEvents         = 5
	defaultMinCount       = 1
	defaultMaxCount       = 10
)

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() {
	c.PollInterval = defaultPollInterval
	c.RolloutTimeout = defaultRolloutTimeout
	c.CallTimeout = defaultCallTimeout
	c.Tags = defaultTags
	c.Events = defaultEvents
}

var (
	envName   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	roleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	ecsName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	repoName  = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	regionStr = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("key %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.PollInterval <= 0 {
		bad("poll_interval", "must be positive")
	}
	if c.RolloutTimeout < c.PollInterval || c.RolloutTimeout > maxRolloutTimeout {
		bad("rollout_timeout", "must be between poll_interval and %s", maxRolloutTimeout)
	}
	if c.CallTimeout <= 0 {
		bad("call_timeout", "must be positive")
	}
	if c.Tags < 1 || c.Tags > 100 {
		bad("tags", "must be 1 to 100")
	}
	if c.Events < 0 || c.Events > 50 {
		bad("events", "must be 0 to 50")
	}
	seen := map[string]bool{}
	for i, e := range c.Environments {
		key := fmt.Sprintf("environments[%d]", i)
		if !envName.MatchString(e.Name) {
			bad(key+".name", "%q is not a lowercase name like dev or prd", e.Name)
		}
		if seen[e.Name] {
			bad(key+".name", "%q is listed twice", e.Name)
		}
		seen[e.Name] = true
		if !ecsName.MatchString(e.Cluster) {
			bad(key+".cluster", "%q is not an ECS cluster name", e.Cluster)
		}
		if e.Region != "" && !regionStr.MatchString(e.Region) {
			bad(key+".region", "%q is not an AWS region", e.Region)
		}
		if e.RoleARN != "" && !roleARN.MatchString(e.RoleARN) {
			bad(key+".role_arn", "%q is not an IAM role ARN", e.RoleARN)
		}
		names := map[string]bool{}
		for j, s := range e.Services {
			skey := fmt.Sprintf("%s.services[%d]", key, j)
			if !ecsName.MatchString(s.Name) {
				bad(skey+".name", "%q is not an ECS service name", s.Name)
			}
			if names[strings.ToLower(s.Name)] {
				bad(skey+".name", "%q is listed twice", s.Name)
			}
			names[strings.ToLower(s.Name)] = true
			if !ecsName.MatchString(s.Container) {
				bad(skey+".container", "%q is not a container name", s.Container)
			}
			if !repoName.MatchString(s.Repository) {
				bad(skey+".repository", "%q is not an ECR repository name", s.Repository)
			}
			if lo, hi := s.minCount(), s.maxCount(); lo < 0 || hi < lo || hi > 1000 {
				bad(skey+".max_count", "bounds %d..%d are not 0 <= min_count <= max_count <= 1000", lo, hi)
			}
		}
	}
	if c.DefaultEnv != "" && !seen[c.DefaultEnv] {
		bad("default_env", "%q is not one of the environments", c.DefaultEnv)
	}
	return errors.Join(errs...)
}

func (s *Service) minCount() int {
	if s.MinCount == nil {
		return defaultMinCount
	}
	return *s.MinCount
}

func (s *Service) maxCount() int {
	if s.MaxCount == 0 {
		return defaultMaxCount
	}
	return s.MaxCount
}

// env returns the environment name (or the default) names.
func (c *Config) env(name string) (*Environment, error) {
	if name == "" {
		name = c.DefaultEnv
	}
	if name == "" {
		return nil, botkit.Userf("Which environment? Add `in &lt;env&gt;` (%s).", c.envNames())
	}
	i := slices.IndexFunc(c.Environments, func(e Environment) bool { return strings.EqualFold(e.Name, name) })
	if i < 0 {
		return nil, botkit.Userf("I don't know the environment `%s`; I know %s.", botkit.Escape(name), c.envNames())
	}
	return &c.Environments[i], nil
}

func (c *Config) envNames() string {
	if len(c.Environments) == 0 {
		return "none: the config lists no environments"
	}
	var names []string
	for _, e := range c.Environments {
		names = append(names, "`"+e.Name+"`")
	}
	return strings.Join(names, ", ")
}

// service returns the configured service name in e, or a user error.
func (e *Environment) service(name string) (*Service, error) {
	i := slices.IndexFunc(e.Services, func(s Service) bool { return strings.EqualFold(s.Name, name) })
	if i < 0 {
		var names []string
		for _, s := range e.Services {
			names = append(names, "`"+s.Name+"`")
		}
		list := "none"
		if len(names) > 0 {
			list = strings.Join(names, ", ")
		}
		return nil, botkit.Userf("`%s` is not a service I manage in %s (I manage %s).", botkit.Escape(name), e.Name, list)
	}
	return &e.Services[i], nil
}
