package slacktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// PushOption changes how a push is sent.
type PushOption func(*push)

type push struct {
	badSignature bool
	age          time.Duration
	retryNum     int
	retryReason  string
}

// BadSignature signs the push with the wrong secret.
func BadSignature() PushOption { return func(p *push) { p.badSignature = true } }

// StaleTimestamp dates the push (and its signature) ten minutes back, past
// the five minutes a receiver should accept.
func StaleTimestamp() PushOption { return func(p *push) { p.age = 10 * time.Minute } }

// RetryHeaders sends X-Slack-Retry-Num: num and X-Slack-Retry-Reason:
// reason (http_timeout, http_error, connection_failed…), as Slack does on
// its retries.
func RetryHeaders(num int, reason string) PushOption {
	return func(p *push) { p.retryNum, p.retryReason = num, reason }
}

// PushResult is the bot's answer to a push.
type PushResult struct {
	EventID   string // the event_id of an event push
	TriggerID string // the trigger_id of an interaction's payload, if it has one
	Status    int
	Header    http.Header
	Body      []byte
	Duration  time.Duration // from sending the request to reading the whole answer
	// Answer is Body read as the answer to the interaction pushed with
	// PushInteraction, and whether Slack would take it (a status other
	// than 200, or an answer after AckDeadline, it ignores).
	Answer Answer
}

// Sign returns the X-Slack-Signature of body sent at timestamp (Unix
// seconds): "v0=" + hex(HMAC-SHA256(SigningSecret, "v0:"+timestamp+":"+body)).
func Sign(timestamp int64, body []byte) string {
	return sign(SigningSecret, timestamp, body)
}

func sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", timestamp)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// PushRaw POSTs body with contentType to target as Slack's HTTP Events API
// does, signed with SigningSecret, and returns the answer. The request is
// abandoned when ctx ends.
func (s *Server) PushRaw(ctx context.Context, target, contentType string, body []byte, opts ...PushOption) (PushResult, error) {
	var p push
	for _, o := range opts {
		o(&p)
	}
	ts := time.Now().Add(-p.age).Unix()
	secret := SigningSecret
	if p.badSignature {
		secret = "not-" + SigningSecret
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return PushResult{}, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sign(secret, ts, body))
	if p.retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(p.retryNum))
		req.Header.Set("X-Slack-Retry-Reason", p.retryReason)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return PushResult{}, fmt.Errorf("pushing to %s: %w", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	res := PushResult{Status: resp.StatusCode, Header: resp.Header, Body: b, Duration: time.Since(start)}
	if err != nil {
		return res, fmt.Errorf("reading the answer of %s: %w", target, err)
	}
	return res, nil
}

// PushEvent POSTs ev as a JSON event_callback to target, signed, and returns
// the answer with the event id (see PushRaw). A retry of an event pushed
// before is PushRetry.
func (s *Server) PushEvent(ctx context.Context, target string, ev Event, opts ...PushOption) (PushResult, error) {
	s.mu.Lock()
	ev, payload := s.callbackLocked(ev)
	s.mu.Unlock()
	res, err := s.PushRaw(ctx, target, "application/json", payload, opts...)
	res.EventID = ev.EventID
	return res, err
}

// PushRetry pushes event eventID (sent before over either transport) again
// as Slack retries it: the same body, with X-Slack-Retry-Num one more than
// last time and X-Slack-Retry-Reason: http_timeout (opts may override
// them). It panics if the event is unknown.
func (s *Server) PushRetry(ctx context.Context, target, eventID string, opts ...PushOption) (PushResult, error) {
	s.mu.Lock()
	ev := s.events[eventID]
	if ev == nil {
		s.mu.Unlock()
		panic(fmt.Sprintf("slacktest: PushRetry of unknown event %q", eventID))
	}
	ev.attempts++
	payload, n := ev.payload, ev.attempts
	s.mu.Unlock()
	opts = append([]PushOption{RetryHeaders(n, "http_timeout")}, opts...)
	res, err := s.PushRaw(ctx, target, "application/json", payload, opts...)
	res.EventID = eventID
	return res, err
}

// PushURLVerification POSTs the url_verification challenge Slack sends when
// the request URL is configured; the bot should answer with the challenge.
func (s *Server) PushURLVerification(ctx context.Context, target, challenge string, opts ...PushOption) (PushResult, error) {
	body := marshal(map[string]string{"token": VerificationToken, "challenge": challenge, "type": "url_verification"})
	return s.PushRaw(ctx, target, "application/json", body, opts...)
}

// PushClick POSTs a button click to target as Slack's interactivity request
// does: PushInteraction(ctx, target, a, opts...).
func (s *Server) PushClick(ctx context.Context, target string, a Action, opts ...PushOption) (PushResult, error) {
	return s.PushInteraction(ctx, target, a, opts...)
}

// PushSlash POSTs a slash command to target as a form, as Slack does:
// PushInteraction with a Command.
func (s *Server) PushSlash(ctx context.Context, target, user, channel, command, text string, opts ...PushOption) (PushResult, error) {
	return s.PushInteraction(ctx, target, Command{User: user, Channel: channel, Name: command, Text: text}, opts...)
}
