// Package slacktest is a fake Slack for end-to-end tests of bots. It speaks
// Slack's wire protocols on loopback, so the unmodified slack-go client (or a
// bot binary started with SLACK_API_URL pointing at it) talks to it as it
// would to Slack:
//
//   - the Web API (form-encoded or JSON POSTs to <APIURL>/<method>): auth.test,
//     apps.connections.open, chat.postMessage, chat.update, chat.postEphemeral,
//     chat.delete, reactions.add, users.info, conversations.info,
//     conversations.replies, usergroups.users.list, files.getUploadURLExternal,
//     the upload URL it hands out, files.completeUploadExternal, views.open,
//     views.push, views.update and views.publish, the app manifest methods
//     (apps.manifest.validate, create, update and export, with ConfigToken),
//     and the response_urls it hands out. Tokens are checked on every call, as Slack does; every call
//     is recorded (Calls, Messages);
//   - Socket Mode: apps.connections.open returns a ws:// URL of the fake's own
//     websocket, which says hello, pings, delivers envelopes (events_api,
//     interactive, slash_commands) and records the acks that come back (Acks);
//   - the HTTP Events API: Push* methods POST signed event callbacks,
//     url_verification challenges, interaction payloads and slash commands to
//     a bot's URL (PushResult).
//
// A typical bot test:
//
//	srv := slacktest.New(t)
//	// start the bot with SLACK_API_URL=srv.APIURL(), SLACK_BOT_TOKEN=slacktest.BotToken,
//	// SLACK_APP_TOKEN=slacktest.AppToken
//	srv.WaitConnected(t)
//	_, env := srv.Mention("U1", "C1", "deploy api main")
//	srv.WaitAck(t, env)
//	msgs := srv.WaitMessages(t, 1)
//
// # Events
//
// Events reach the bot as event_callbacks with an event_id that retries keep:
// SendEvent over Socket Mode, PushEvent over HTTP. Mention, DM and BotMention
// send mentions and direct messages; AppHomeOpened, ReactionAdded,
// MemberJoinedChannel, ChannelCreated and ChannelMessage make events of
// other types, and an Event with any Type and Fields makes any other.
//
// # Interactions
//
// What users do reaches the bot as Slack's payloads, with Interact over
// Socket Mode and PushInteraction over HTTP: an Action on a message, modal or
// home tab (block_actions for a button, a select, an overflow menu, a date
// picker…; Click), a Suggestion (block_suggestion: an external select asks
// for options), a Submission (view_submission; Submit) or a ViewClosed of a
// modal, a Shortcut, a MessageShortcut (message_action) and a Command (a
// slash command; Slash). Each carries a fresh trigger_id, and a response_url
// where Slack's does.
//
// The bot's answer, in its ack's payload or its HTTP response body, is read
// (Ack.Answer, PushResult.Answer) and applied as Slack applies it if it came
// within AckDeadline: a view_submission's response_action errors shows the
// errors beside the inputs (View.Errors), update, push and clear change the
// user's modals, no response_action closes the submitted modal; options
// answer a block_suggestion; a slash command's message is recorded in
// Messages with Method "ack". Answer.Problem says why Slack would refuse or
// ignore an answer (too late, a second ack, an invalid view…).
//
// A response_url takes what the bot posts there into Messages with Method
// response_url (with EphemeralUser for an ephemeral response, Slack's
// default). Like Slack's, it takes MaxResponseURLUses messages within
// ResponseURLExpiry, then answers 404 used_url or expired_url.
//
// # Views
//
// Views are state, as in Slack: each user has a stack of at most MaxViewStack
// modals (Modals, WaitModal) and a home tab (Home). views.open and views.push
// need a trigger_id the fake issued with an interaction, unused and at most
// TriggerExpiry old (else invalid_trigger_id, exchanged_trigger_id or
// expired_trigger_id); views.update and views.publish check the hash
// (hash_conflict); views.push stops at push_limit_reached. View payloads are
// checked against Slack's limits (type, title and button texts, blocks,
// inputs without submit, private_metadata, size) and refused with
// invalid_arguments and response_metadata.messages as Slack refuses them.
// Choices users make in a modal go into its state, which a Submission
// carries with the typed values Slack uses (value, selected_option,
// selected_date, selected_user…).
//
// # Faults and limits
//
// Faults can be injected: 429 with Retry-After, Slack errors and slow answers
// for any method (Inject, RateLimit, Fail); a refresh_requested disconnect, a
// dropped TCP connection and a socket that stops pinging (Disconnect, Drop,
// StopPings). With WithRateLimits the fake enforces Slack's rate limits, a
// token bucket per method (per channel for chat.postMessage) at the tier
// Slack documents (DefaultLimits), and answers 429 with Retry-After past
// them; RateLimited counts the refused calls. Envelopes sent while no socket
// is open are queued and delivered when the bot reconnects; with
// WithAutoRetry, events_api envelopes that are not acked in time come back as
// Slack's retries (same event_id, new envelope_id, retry_attempt one more),
// on Slack's backoff scaled down, and an envelope that waits too long for a
// connection is dropped (see WithAutoRetry for what the fake assumes where
// Slack does not say).
//
// # Several connections
//
// An app may hold several connections at once (up to 10 in Slack: the
// old and the new process of a rolling restart, or two replicas). Every one
// stays open, each hello carries the number open (num_connections), and
// each envelope goes to one of them, chosen by a Route (WithRoute,
// SetRoute): the newest (the default), the oldest, in turn, at random
// (seeded), or away from the process that posted the message a click is
// on. Slack documents no choice, so tests should pass under all of them.
// WithTriggerExpiry, WithResponseURLExpiry and WithAckDeadline shorten
// Slack's timings for tests that should not wait for them.
//
// Identities are fixed: the bot is BotUser (bot id BotID) in team Team, and
// the fake accepts BotToken for Web API methods and AppToken for
// apps.connections.open. Timestamps come from one counter starting at
// 1700000000.000100, so they are unique, increasing and reproducible.
//
// A Server is safe for concurrent use. Its Wait* methods call t.Fatal, so call
// them from the test's goroutine. Helpers that build what a user does panic
// on what no user could do in Slack (submitting a modal that is not open,
// choosing an option a menu lacks), as a bad test input.
//
// slack-go's own slacktest package is not used: it sends no hello and no
// pings, which a real Socket Mode client needs.
package slacktest
