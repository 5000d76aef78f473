package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The limits of a response_url, as Slack's guide to handling interactions
// states them (docs.slack.dev/interactivity/handling-user-interaction,
// "message responses"): up to 5 responses within 30 minutes of the
// interaction.
const (
	MaxResponseURLUses = 5
	ResponseURLExpiry  = 30 * time.Minute
)

// WithResponseURLExpiry sets how long the response_urls the fake issues
// take messages (see ResponseURLExpiry). It panics if d is not positive.
func WithResponseURLExpiry(d time.Duration) Option {
	if d <= 0 {
		panic("slacktest: WithResponseURLExpiry needs a positive duration")
	}
	return func(c *config) { c.responseURLExpiry = d }
}

// responseURL is a response_url the fake issued: where it posts, for whom,
// and how much of it is left. Guarded by Server.mu.
type responseURL struct {
	channel, messageTS, threadTS string // messageTS: the message clicked, "" for a slash command
	user                         string // who interacted: an ephemeral response is theirs
	issued                       time.Time
	uses                         int
}

// newResponseURLLocked returns a fresh response_url for an interaction by
// user in channel, on the message messageTS if any.
func (s *Server) newResponseURLLocked(channel, messageTS, threadTS, user string) string {
	path := fmt.Sprintf("/response/%d", s.nextLocked())
	s.responses[path] = &responseURL{channel: channel, messageTS: messageTS, threadTS: threadTS, user: user, issued: time.Now()}
	return s.http.URL + path
}

// responseError answers a post to a response_url with a Slack error. Slack's
// docs name no status or body for a response_url it refuses; the fake
// answers as its incoming webhooks, which share the mechanism and report
// errors by status code ("webhooks do use status codes"), with the JSON
// {"ok":false,"error":…} body that clients parsing {"ok":true} can read.
func responseError(w http.ResponseWriter, status int, slackErr string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(map[string]any{"ok": false, "error": slackErr}))
}

// serveResponseURL records a message posted to a response_url. A URL takes
// MaxResponseURLUses messages within ResponseURLExpiry of the interaction;
// then it answers 404 with used_url or expired_url. A post it refuses does
// not use it up.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		responseError(w, http.StatusMethodNotAllowed, "method_not_allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ThreadTS        string          `json:"thread_ts"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.responses[r.URL.Path]
	switch {
	case ru == nil:
		responseError(w, http.StatusNotFound, "no_service")
		return
	case time.Since(ru.issued) > s.cfg.responseURLExpiry:
		responseError(w, http.StatusNotFound, "expired_url")
		return
	case ru.uses >= MaxResponseURLUses:
		responseError(w, http.StatusNotFound, "used_url")
		return
	case err != nil || (msg.ResponseType != "" && msg.ResponseType != "ephemeral" && msg.ResponseType != "in_channel"):
		responseError(w, http.StatusBadRequest, "invalid_payload")
		return
	case msg.Text == "" && len(msg.Blocks) == 0 && !msg.DeleteOriginal:
		responseError(w, http.StatusBadRequest, "no_text")
		return
	case len(msg.Blocks) > 0 && len(validateBlocks(msg.Blocks, "/blocks", MaxBlocks)) > 0:
		responseError(w, http.StatusBadRequest, "invalid_blocks")
		return
	}
	ru.uses++
	threadTS := msg.ThreadTS
	if threadTS == "" {
		threadTS = ru.threadTS
	}
	m := Message{Method: "response_url", Channel: ru.channel, TS: ru.messageTS, ThreadTS: threadTS, Text: msg.Text, Blocks: string(msg.Blocks),
		ResponseType: msg.ResponseType, ReplaceOriginal: msg.ReplaceOriginal, DeleteOriginal: msg.DeleteOriginal}
	if h := s.history[key(ru.channel, ru.messageTS)]; h != nil {
		switch {
		case msg.DeleteOriginal:
			delete(s.history, key(h.Channel, h.TS))
		case msg.ReplaceOriginal:
			h.Text, h.Blocks, h.Edited = msg.Text, msg.Blocks, true
		}
	}
	if !msg.ReplaceOriginal && !msg.DeleteOriginal {
		m.TS = s.tsLocked()
		if msg.ResponseType != "in_channel" { // Slack's default is ephemeral
			m.EphemeralUser = ru.user
		}
	}
	s.messages = append(s.messages, m)
	s.notifyLocked()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(`{"ok":true}`))
}
