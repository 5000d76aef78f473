// Package secretstore keeps the bots' tokens in AWS Secrets Manager: one
// secret per bot and environment, named botfleet/<env>/<bot>, holding a
// JSON object of the bot's secret environment variables (SLACK_BOT_TOKEN,
// SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, and its webhooks' <BOT>_WEBHOOK_*).
// The External Secrets Operator copies it into the bot's namespace as the
// Secret <bot>-slack.
package secretstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/botfleet/botfleet/pkg/secretscan"
)

// The keys a bot's secret holds: the runtime contract's secret variables.
const (
	BotToken      = "SLACK_BOT_TOKEN"
	AppToken      = "SLACK_APP_TOKEN"
	SigningSecret = "SLACK_SIGNING_SECRET"
)

// Keys are the keys a bot's secret may hold, in order.
var Keys = []string{BotToken, AppToken, SigningSecret}

// AppIDTag is the tag on a bot's secret that holds the id of the bot's
// Slack app in that environment: not a secret, but kept with the tokens it
// goes with, so that `botctl slack-app apply` updates the app it created.
const AppIDTag = "botfleet/slack-app-id"

// ClientIDTag is the tag that holds the app's OAuth client id, from which
// its install link is made.
const ClientIDTag = "botfleet/slack-client-id"

// Name is the Secrets Manager name of bot's secret in env.
func Name(bot, env string) string { return "botfleet/" + env + "/" + bot }

// KubeSecret is the Secret a bot's pod reads its tokens from, in each of
// its namespaces, made by the ExternalSecret of the same name.
func KubeSecret(bot string) string { return bot + "-slack" }

// SecretStoreName is the SecretStore the bot's ExternalSecret reads
// through.
func SecretStoreName(bot string) string { return bot + "-secrets" }

// ServiceAccount is the SecretStore's own ServiceAccount, not the bot's,
// so that the bot's role never reads Secrets Manager. Its name has a dot,
// which no bot's name (a DNS label) has: the trust policy of RoleARN can
// accept "*.secrets" and no bot's own ServiceAccount matches.
func ServiceAccount(bot string) string { return bot + ".secrets" }

// RoleARN is the IRSA role of every SecretStore of env, made once at the
// bootstrap: it may read botfleet/<env>/* and is assumable by the
// ServiceAccounts *.secrets of env's namespace only. One role per
// environment rather than per bot: any pod of a namespace can read its
// Secrets anyway, so per-bot roles would add a step per bot and no
// isolation.
func RoleARN(account, env string) string {
	return "arn:aws:iam::" + account + ":role/botfleet-external-secrets-" + env
}

// ARNPattern is the IAM resource that names bot's secret in env and no
// other: Secrets Manager appends "-" and six random characters to a
// secret's ARN, and "-??????" matches exactly those (a "-*" would also
// match the secret of a bot whose name extends this one's, hello-world's
// for hello).
func ARNPattern(partition, region, account, bot, env string) string {
	return fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-??????", partition, region, account, Name(bot, env))
}

// WebhookPrefix is how the variables of bot's webhook secrets begin
// (docs/architecture.md): ALERTS_WEBHOOK_ for alerts, MY_BOT_WEBHOOK_ for
// my-bot.
func WebhookPrefix(bot string) string {
	return strings.ToUpper(strings.ReplaceAll(bot, "-", "_")) + "_WEBHOOK_"
}

// MinWebhookSecret is the shortest webhook secret taken: 32 characters, as
// `openssl rand -hex 16` makes; `openssl rand -hex 32` makes 64.
const MinWebhookSecret = 32

// keyOK reports whether k is a key bot's secret may hold.
func keyOK(k, bot string) bool {
	rest, ok := strings.CutPrefix(k, WebhookPrefix(bot))
	return slices.Contains(Keys, k) || ok && webhookSuffix.MatchString(rest)
}

var webhookSuffix = regexp.MustCompile(`^[A-Z0-9_]+$`)

// tokenPrefix is what each token must start with.
var tokenPrefix = map[string]string{BotToken: "xoxb-", AppToken: "xapp-"}

// Parse reads KEY=VALUE lines of bot's secret (blank lines and # comments
// skipped) and checks each key is one of Keys or a webhook's
// (WebhookPrefix), each token has its kind's prefix and each webhook secret
// is long enough. Its errors never quote a value.
func Parse(r io.Reader, bot string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want KEY=VALUE (%s)", n, strings.Join(Keys, ", "))
		case !keyOK(k, bot):
			return nil, fmt.Errorf("line %d: unknown key %q; the keys are %s and %s*", n, secretscan.Redact(k), strings.Join(Keys, ", "), WebhookPrefix(bot))
		case v == "":
			return nil, fmt.Errorf("line %d: %s is empty", n, k)
		case strings.HasPrefix(k, WebhookPrefix(bot)) && len(v) < MinWebhookSecret:
			return nil, fmt.Errorf("line %d: %s has %d characters, want at least %d: make it with `openssl rand -hex 32`", n, k, len(v), MinWebhookSecret)
		case tokenPrefix[k] != "" && !strings.HasPrefix(v, tokenPrefix[k]):
			return nil, fmt.Errorf("line %d: %s must start with %s", n, k, tokenPrefix[k])
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("line %d: %s given twice", n, k)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no KEY=VALUE lines on stdin (%s)", strings.Join(Keys, ", "))
	}
	return out, nil
}

// Store reads and writes the bots' secrets. It is safe for concurrent use,
// but two puts of one secret race: the last wins.
type Store struct {
	c *secretsmanager.Client
}

// New returns a Store calling c.
func New(c *secretsmanager.Client) *Store { return &Store{c: c} }

// Put merges values into the secret name (creating it if there is none)
// as a new version: keys not in values keep their value. It also sets
// tags. It returns the keys the secret holds now.
func (s *Store) Put(ctx context.Context, name string, values, tags map[string]string) ([]string, error) {
	cur, err := s.get(ctx, name)
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		merged := maps.Clone(values)
		if merged == nil {
			merged = map[string]string{}
		}
		in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(encode(merged)),
			Description: aws.String("botfleet: a bot's Slack tokens and webhook secrets (botctl secrets put)")}
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		if _, err := s.c.CreateSecret(ctx, in); err != nil {
			return nil, fmt.Errorf("creating secret %s: %w", name, err)
		}
		return slices.Sorted(maps.Keys(merged)), nil
	case err != nil:
		return nil, err
	}
	merged := maps.Clone(cur)
	maps.Copy(merged, values)
	if !maps.Equal(merged, cur) {
		if _, err := s.c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
			SecretString: aws.String(encode(merged))}); err != nil {
			return nil, fmt.Errorf("putting secret %s: %w", name, err)
		}
	}
	if len(tags) > 0 {
		in := &secretsmanager.TagResourceInput{SecretId: aws.String(name)}
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		if _, err := s.c.TagResource(ctx, in); err != nil {
			return nil, fmt.Errorf("tagging secret %s: %w", name, err)
		}
	}
	return slices.Sorted(maps.Keys(merged)), nil
}

// Tag returns the value of the tag key on the secret name, "" if the
// secret or the tag does not exist.
func (s *Store) Tag(ctx context.Context, name, key string) (string, error) {
	out, err := s.c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("describing secret %s: %w", name, err)
	}
	for _, t := range out.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), nil
		}
	}
	return "", nil
}

// get returns the current value of the secret name.
func (s *Store) get(ctx context.Context, name string) (map[string]string, error) {
	out, err := s.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	v := map[string]string{}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		// Never quote the value: it is a secret.
		return nil, fmt.Errorf("secret %s does not hold a JSON object of strings; fix or delete it in the AWS console", name)
	}
	return v, nil
}

func encode(m map[string]string) string {
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}
