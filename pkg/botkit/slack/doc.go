// Package slack holds botkit's Slack transports and the Web API client they
// share: Socket (Socket Mode, a websocket the bot opens, so no public
// endpoint is needed) and HTTP (the HTTP Events API: Slack POSTs to the
// bot's HTTP server), both over Client (post, update, upload, user groups,
// the bot's identity) and the conversion of Slack's payloads into botkit
// events.
//
// Both acknowledge first. Socket's read loop only acks and hands off: it
// acks every envelope the moment it arrives, before any work, then gives
// the event to the bot, whose deliver never waits (it queues the event or,
// when the queue is full, answers "busy" from another goroutine), so a slow
// handler or a full queue never delays the ack of another envelope past
// Slack's 3 seconds. Unparseable frames are acked from their raw
// envelope_id too, or Slack would resend them forever. HTTP checks every
// request's v0 signature (5-minute window) before anything else, answers
// 401 to a bad or missing one with nothing run, and answers 200 at once,
// working after. Retries keep their event_id and are deduplicated by the
// bot.
//
// slack-go reconnects a Socket by itself (refresh_requested, dropped
// sockets, missing pings); meanwhile Ready reports an error and a metric
// counts the reconnects. A token Slack refuses for good (invalid_auth,
// not_allowed_token_type, ...) ends Listen with an error naming
// SLACK_APP_TOKEN instead of being retried forever.
package slack
