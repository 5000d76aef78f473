// Package slack holds botkit's Slack transports and the Web API client they
// share: Socket (Socket Mode, a websocket the bot opens, so no public
// endpoint is needed) and HTTP (the HTTP Events API: Slack POSTs to the
// bot's HTTP server), both over Client (post, update, upload, user groups,
// the bot's identity) and the conversion of Slack's payloads into botkit
// events.
//
// Both acknowledge before the bot handles an event, and never wait for a
// handler. Socket's read loop acks and hands off: an interactive payload or
// slash command is acked the moment it arrives; an Events API event is
// handed to the bot with an Event.Ack, which the bot calls once it has
// recorded the event in its state directory's inbox (at once without one),
// from another goroutine, so a burst is not serialized behind fsyncs and
// acks may go out of order. The bot's deliver never waits (it queues the
// event or, when the queue is full, answers "busy" from another
// goroutine), so a slow handler or a full queue never delays the ack of
// another envelope past Slack's 3 seconds. Unparseable frames are acked
// from their raw envelope_id too, or Slack would resend them forever. HTTP
// checks every request's v0 signature (5-minute window) before anything
// else, answers 401 to a bad or missing one with nothing run, and answers
// an event 200 once the bot acks it (503 past botkit.AnswerBudget, and
// Slack sends it again). Retries keep their event_id and are deduplicated
// by the bot, across processes when they share a state directory.
//
// On cancel, Socket closes its websocket first (slack-go closes the
// connection when its context ends), so Slack sends what follows to the
// app's other connections; events read but not yet acked are not acked,
// and Slack sends them again; events acked are in the inbox, and the bot
// handles them within its grace period or leaves them there for another
// process.
//
// Socket exports botkit_socket_connections, the app's open connections as
// Slack's hello said (it says so only when a connection opens), and
// botkit_socket_connections_seen_timestamp_seconds, when that hello came:
// more connections than replicas plus surge, for long, is a stray process
// taking events.
//
// slack-go reconnects a Socket by itself (refresh_requested, dropped
// sockets, missing pings); meanwhile Ready reports an error and a metric
// counts the reconnects. A token Slack refuses for good (invalid_auth,
// not_allowed_token_type, ...) ends Listen with an error naming
// SLACK_APP_TOKEN instead of being retried forever.
package slack
