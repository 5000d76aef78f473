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
	"github.com/slack-go/slack/slackevents"

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
	opts := []slack.Option{
		slack.OptionAPIURL(url),
		slack.OptionHTTPClient(&http.Client{Timeout: HTTPTimeout, Transport: httpTransport()}),
		slack.OptionRetry(MaxRetries), // after OptionHTTPClient, so it wraps it
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken.Reveal()))
	}
	return &Client{API: slack.New(cfg.BotToken.Reveal(), opts...), logger: logger}
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

// Action turns a block_actions click into a botkit event; ok is false for
// other interactions.
func Action(cb slack.InteractionCallback) (ev botkit.Event, ok bool) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return ev, false
	}
	a := cb.ActionCallback.BlockActions[0]
	ev.User, ev.Channel = cb.User.ID, cb.Channel.ID
	if ev.Channel == "" {
		ev.Channel = cb.Container.ChannelID
	}
	ev.ThreadTS = cb.Message.ThreadTimestamp
	ev.Action = &botkit.Action{ActionID: a.ActionID, Value: a.Value, MessageTS: cb.Message.Timestamp}
	if ev.Action.MessageTS == "" {
		ev.Action.MessageTS = cb.Container.MessageTs
	}
	return ev, true
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

// Event turns an Events API callback into a botkit event. ok is false for
// events that carry no command: other event types, and messages that are
// not direct messages (mentions in channels arrive as app_mention, so
// taking channel messages too would run them twice).
func (c *Client) Event(outer slackevents.EventsAPIEvent) (ev botkit.Event, ok bool) {
	if outer.Type != slackevents.CallbackEvent {
		return ev, false
	}
	if cb, isCB := outer.Data.(*slackevents.EventsAPICallbackEvent); isCB {
		ev.ID = cb.EventID
	}
	switch e := outer.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		ev.Text, ev.User, ev.Channel, ev.TS, ev.ThreadTS, ev.BotID = e.Text, e.User, e.Channel, e.TimeStamp, e.ThreadTimeStamp, e.BotID
	case *slackevents.MessageEvent:
		if e.ChannelType != "im" {
			return ev, false
		}
		ev.Text, ev.User, ev.Channel, ev.TS, ev.ThreadTS, ev.BotID, ev.Subtype = e.Text, e.User, e.Channel, e.TimeStamp, e.ThreadTimeStamp, e.BotID, e.SubType
	default:
		return ev, false
	}
	if self := c.Self(); self.UserID != "" && ev.User == self.UserID {
		ev.BotID = self.BotID // our own message: never a command
		if ev.BotID == "" {
			ev.BotID = "self"
		}
	}
	return ev, true
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
