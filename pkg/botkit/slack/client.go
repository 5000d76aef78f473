package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// DefaultAPIURL is Slack's Web API base URL; SLACK_API_URL overrides it.
const DefaultAPIURL = "https://slack.com/api/"

// HTTPTimeout bounds one Web API call. slack.New's default client has no
// timeout at all, so a stalled connection would hang a handler forever.
const HTTPTimeout = 30 * time.Second

// MaxRetries is how often a call answered 429 is retried, after the
// Retry-After that Slack sends. Only 429s are retried: other failures of
// chat.postMessage may have posted, and it has no idempotency key.
const MaxRetries = 5

// Config says how to reach Slack.
type Config struct {
	BotToken botkit.Secret // xoxb-
	AppToken botkit.Secret // xapp-, for Socket Mode
	// APIURL is the Web API base URL; empty means DefaultAPIURL. A
	// missing trailing slash is added, since slack-go appends method names.
	APIURL string
	Logger *slog.Logger
}

// Client is the Web API side of a Slack transport. It is safe for
// concurrent use.
type Client struct {
	API    *slack.Client
	logger *slog.Logger
	http   *http.Client // response_url answers go through it too
	// self is set by Authenticate while requests may already be read (the
	// HTTP transport's routes serve before Listen runs).
	self atomic.Pointer[Identity]
}

// Identity is who the bot is in Slack, from auth.test.
type Identity struct {
	UserID, BotID, TeamID, User string
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) *Client {
	url := cfg.APIURL
	if url == "" {
		url = DefaultAPIURL
	}
	if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	httpClient := &http.Client{Timeout: HTTPTimeout, Transport: httpTransport()}
	opts := []slack.Option{
		slack.OptionAPIURL(url),
		slack.OptionHTTPClient(httpClient),
		slack.OptionRetry(MaxRetries), // after OptionHTTPClient, so it wraps it
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken.Reveal()))
	}
	return &Client{API: slack.New(cfg.BotToken.Reveal(), opts...), logger: logger, http: httpClient}
}

// Authenticate calls auth.test and remembers the bot's identity, so that
// its own messages are ignored. Call it before Event.
func (c *Client) Authenticate(ctx context.Context) (Identity, error) {
	resp, err := c.API.AuthTestContext(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("auth.test: %w", err)
	}
	self := Identity{UserID: resp.UserID, BotID: resp.BotID, TeamID: resp.TeamID, User: resp.User}
	c.self.Store(&self)
	return self, nil
}

// Self returns the identity Authenticate learned (zero before).
func (c *Client) Self() Identity {
	if p := c.self.Load(); p != nil {
		return *p
	}
	return Identity{}
}

// Post implements botkit.Transport.
func (c *Client) Post(ctx context.Context, m botkit.Message) (botkit.MessageRef, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	if blocks := Blocks(m); len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if m.EphemeralUser != "" {
		ts, err := c.API.PostEphemeralContext(ctx, m.Channel, m.EphemeralUser, opts...)
		if err != nil {
			return botkit.MessageRef{}, fmt.Errorf("chat.postEphemeral: %w", err)
		}
		return botkit.MessageRef{Channel: m.Channel, TS: ts}, nil
	}
	channel, ts, err := c.API.PostMessageContext(ctx, m.Channel, opts...)
	if err != nil {
		return botkit.MessageRef{}, fmt.Errorf("chat.postMessage: %w", err)
	}
	return botkit.MessageRef{Channel: channel, TS: ts}, nil
}

// Update implements botkit.Transport.
func (c *Client) Update(ctx context.Context, ref botkit.MessageRef, m botkit.Message) error {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	// An update without blocks must clear the old ones, or Slack keeps
	// showing stale buttons under the new text.
	opts = append(opts, slack.MsgOptionBlocks(Blocks(m)...))
	if _, _, _, err := c.API.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...); err != nil {
		return fmt.Errorf("chat.update: %w", err)
	}
	return nil
}

// GroupMembers implements botkit.GroupResolver with usergroups.users.list.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	users, err := c.API.GetUserGroupMembersContext(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list: %w", err)
	}
	return users, nil
}

// MaxBlocks is Slack's limit of blocks in one message; past it Slack
// rejects the whole message (invalid_blocks).
const MaxBlocks = 50

// Blocks returns m's Block Kit blocks: its own, then its prompt's buttons,
// cut to MaxBlocks with a note saying how many were left out.
func Blocks(m botkit.Message) []slack.Block {
	blocks := m.Blocks
	room := MaxBlocks
	if m.Prompt != nil {
		room-- // the buttons
	}
	if len(blocks) > room {
		cut := len(blocks) - room + 1
		note := slack.NewContextBlock("", slack.NewTextBlockObject(slack.PlainTextType, fmt.Sprintf("… %d more not shown (Slack shows at most %d blocks)", cut, MaxBlocks), false, false))
		blocks = append(slices.Clip(blocks[:room-1]), note)
	}
	if m.Prompt == nil {
		return blocks
	}
	if len(blocks) == 0 {
		blocks = []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, m.Text, false, false), nil, nil)}
	}
	yes := slack.NewButtonBlockElement(botkit.ConfirmActionID+"_yes", botkit.PromptValue(m.Prompt.ID, true),
		slack.NewTextBlockObject(slack.PlainTextType, m.Prompt.Yes, false, false)).WithStyle(slack.StylePrimary)
	no := slack.NewButtonBlockElement(botkit.ConfirmActionID+"_no", botkit.PromptValue(m.Prompt.ID, false),
		slack.NewTextBlockObject(slack.PlainTextType, m.Prompt.No, false, false))
	return append(slices.Clip(blocks), slack.NewActionBlock("botkit_prompt_"+m.Prompt.ID, yes, no))
}

// Upload implements botkit.Uploader with files.getUploadURLExternal and
// files.completeUploadExternal.
func (c *Client) Upload(ctx context.Context, f botkit.File) error {
	if f.Content == "" {
		return errors.New("uploading an empty file")
	}
	_, err := c.API.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: f.Name, Title: f.Name, Content: f.Content, FileSize: len(f.Content),
		Channel: f.Channel, ThreadTimestamp: f.ThreadTS, InitialComment: f.Comment,
	})
	if err != nil {
		return fmt.Errorf("uploading %s: %w", f.Name, err)
	}
	return nil
}

// httpTransport is http.DefaultTransport keeping enough idle connections to
// Slack for every worker: the default keeps 2 per host, so a burst of replies
// would open (and TLS-handshake) a new connection for nearly every call.
func httpTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 64
	return t
}

// OpenView implements botkit.Viewer with views.open.
func (c *Client) OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	resp, err := c.API.OpenViewContext(ctx, triggerID, v)
	if err != nil {
		return botkit.ViewRef{}, fmt.Errorf("views.open: %w", viewError(err, resp))
	}
	return botkit.ViewRef{ID: resp.ID, Hash: resp.Hash}, nil
}

// PushView implements botkit.Viewer with views.push.
func (c *Client) PushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	resp, err := c.API.PushViewContext(ctx, triggerID, v)
	if err != nil {
		return botkit.ViewRef{}, fmt.Errorf("views.push: %w", viewError(err, resp))
	}
	return botkit.ViewRef{ID: resp.ID, Hash: resp.Hash}, nil
}

// UpdateView implements botkit.Viewer with views.update.
func (c *Client) UpdateView(ctx context.Context, ref botkit.ViewRef, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	resp, err := c.API.UpdateViewContext(ctx, v, "", ref.Hash, ref.ID)
	if err != nil {
		return botkit.ViewRef{}, fmt.Errorf("views.update: %w", viewError(err, resp))
	}
	return botkit.ViewRef{ID: resp.ID, Hash: resp.Hash}, nil
}

// PublishHome implements botkit.Viewer with views.publish.
func (c *Client) PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error {
	resp, err := c.API.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: v})
	if err != nil {
		return fmt.Errorf("views.publish: %w", viewError(err, resp))
	}
	return nil
}

// viewError adds what Slack said about a view it refused
// (response_metadata.messages: which block, which field) to err.
func viewError(err error, resp *slack.ViewResponse) error {
	if resp == nil || len(resp.ResponseMetadata.Messages) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(resp.ResponseMetadata.Messages, "; "))
}

// Respond implements botkit.Responder: it POSTs r to responseURL, as Slack
// reads a response_url answer.
func (c *Client) Respond(ctx context.Context, responseURL string, r botkit.Response) error {
	msg := &slack.WebhookMessage{Text: r.Text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: r.ReplaceOriginal}
	if r.InChannel {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	if len(r.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.http, msg); err != nil {
		return fmt.Errorf("response_url: %w", err)
	}
	return nil
}
