package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Slack's documented limits the fake enforces, so a bot that ignores them
// fails in its tests rather than in Slack.
const (
	// MaxTextLen is the longest text chat.postMessage accepts; Slack
	// answers msg_too_long above it (it used to truncate).
	MaxTextLen = 40000
	// MaxBlocks is the most blocks a message may have (invalid_blocks).
	MaxBlocks = 50
)

// Fault is what the fake does instead of serving a Web API call normally.
type Fault struct {
	// Status is the HTTP status; 0 means 429 if RetryAfter is set, else 200.
	Status int
	// RetryAfter is sent as the Retry-After header, in seconds.
	RetryAfter int
	// Error is the Slack error of the ok:false body, like ratelimited or
	// channel_not_found.
	Error string
	// Delay is how long the fake waits before answering (it stops waiting
	// if the client gives up). A Fault with only a Delay delays the call
	// and then serves it normally.
	Delay time.Duration
}

type fault struct {
	Fault
	left int // < 0: forever
}

// Inject makes the next n calls of method (every call from now on if n < 0,
// until ClearFaults) get f instead of their normal answer. Faults of one
// method apply in the order they were injected. Faults are applied before
// the token is checked, as Slack's rate limiter does.
func (s *Server) Inject(method string, n int, f Fault) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], &fault{Fault: f, left: n})
}

// RateLimit answers the next n calls of method with 429 Too Many Requests,
// Retry-After: 1 and {"ok":false,"error":"ratelimited"}, as Slack does when
// a method's rate limit is hit. slack-go retries them with OptionRetry
// (after at least 1 s plus up to 1 s of jitter).
func (s *Server) RateLimit(method string, n int) {
	s.Inject(method, n, Fault{Status: http.StatusTooManyRequests, RetryAfter: 1, Error: "ratelimited"})
}

// Fail answers the next n calls of method (every call if n < 0) with
// {"ok":false,"error":slackErr}.
func (s *Server) Fail(method string, n int, slackErr string) {
	s.Inject(method, n, Fault{Error: slackErr})
}

// ClearFaults removes the faults still pending for method.
func (s *Server) ClearFaults(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, method)
}

func (s *Server) takeFaultLocked(method string) *Fault {
	fs := s.faults[method]
	if len(fs) == 0 {
		return nil
	}
	f := fs[0]
	if f.left > 0 {
		f.left--
		if f.left == 0 {
			s.faults[method] = fs[1:]
		}
	}
	out := f.Fault
	return &out
}

// HandlerFunc serves a Web API method in place of the fake's own. It gets
// the call's parameters (without the token) and returns the fields of an
// ok:true answer, or a Slack error for an ok:false one. It is called without
// the Server's lock held, so it may call the Server's methods, and may be
// called concurrently.
type HandlerFunc func(params url.Values) (fields map[string]any, slackErr string)

// Handle serves method with h: to add a method the fake lacks (views.open,
// say) or to replace one. The token is still checked and the call recorded.
// A nil h restores the default (unknown_method for methods the fake lacks).
func (s *Server) Handle(method string, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, method)
		return
	}
	s.handlers[method] = h
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	params, perr := parseParams(r)
	token := params.Get("token")
	params.Del("token")
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = h
	}
	call := Call{Method: method, Params: params, Token: token, Status: http.StatusOK}

	s.mu.Lock()
	f := s.takeFaultLocked(method)
	custom := s.handlers[method]
	s.mu.Unlock()

	var fields map[string]any
	switch {
	case f != nil && f.Delay > 0 && !sleep(r, f.Delay):
		call.Status, call.Error = 0, "client gave up" // no answer
		s.record(call)
		return
	case f != nil && (f.Status != 0 || f.RetryAfter != 0 || f.Error != ""):
		call.Status, call.Error = f.Status, f.Error
		if call.Status == 0 {
			call.Status = http.StatusOK
			if f.RetryAfter > 0 {
				call.Status = http.StatusTooManyRequests
			}
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
	default:
		s.mu.Lock()
		retryAfter, limited := s.limiter.take(method, params, time.Now())
		s.mu.Unlock()
		switch {
		case limited: // Slack's limiter answers before it looks at the token
			call.Status, call.Error = http.StatusTooManyRequests, "ratelimited"
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		case perr != nil:
			call.Error = "invalid_json"
		default:
			call.Error = checkToken(method, token)
		}
	}
	if call.Status == http.StatusOK && call.Error == "" {
		if custom != nil {
			fields, call.Error = custom(cloneValues(params))
		} else {
			s.mu.Lock()
			fields, call.Error = s.serveMethodLocked(method, params)
			s.mu.Unlock()
		}
	}

	body := map[string]any{}
	for k, v := range fields {
		body[k] = v
	}
	body["ok"] = call.Error == ""
	if call.Error != "" {
		body["error"] = call.Error
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	s.record(call)
	w.WriteHeader(call.Status)
	_, _ = w.Write(marshal(body))
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.At = time.Now()
	s.calls = append(s.calls, c)
	s.notifyLocked()
}

// sleep waits d or until the request is abandoned, and reports whether d
// passed.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// checkToken returns the Slack error for a call of method with token, or "".
func checkToken(method, token string) string {
	want, other := BotToken, AppToken
	switch {
	case method == "apps.connections.open":
		want, other = AppToken, BotToken
	case strings.HasPrefix(method, "apps.manifest."):
		// Only an app configuration token manages apps; a bot or app
		// token is the wrong type.
		if token == BotToken || token == AppToken {
			return "not_allowed_token_type"
		}
		want = ConfigToken
	}
	switch token {
	case want:
		return ""
	case "":
		return "not_authed"
	case other:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

// parseParams reads the query, and a form-encoded or JSON body.
func parseParams(r *http.Request) (url.Values, error) {
	p := r.URL.Query()
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return p, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if len(bytes.TrimSpace(body)) == 0 {
			return p, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return p, err
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				p.Set(k, str)
			} else {
				p.Set(k, string(raw))
			}
		}
		return p, nil
	}
	form, err := url.ParseQuery(string(body))
	for k, vs := range form {
		p[k] = append(p[k], vs...)
	}
	return p, err
}

// histMsg is a message in a channel, as conversations.replies shows it.
type histMsg struct {
	Channel, TS, ThreadTS, User, BotID, Text, SubType string
	Blocks                                            json.RawMessage
	Edited                                            bool
}

func (m *histMsg) wire() map[string]any {
	out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "team": Team}
	if m.User != "" {
		out["user"] = m.User
	}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = AppID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.SubType != "" {
		out["subtype"] = m.SubType
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if m.Edited {
		out["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	return out
}

func key(channel, ts string) string { return channel + " " + ts }

// serveMethodLocked serves the fake's own methods. s.mu must be held.
func (s *Server) serveMethodLocked(method string, p url.Values) (map[string]any, string) {
	switch method {
	case "api.test":
		return nil, ""
	case "auth.test":
		return map[string]any{"url": "https://" + TeamDomain + ".slack.com/", "team": "Botfleet Fake", "user": BotName,
			"team_id": Team, "user_id": BotUser, "bot_id": BotID, "is_enterprise_install": false}, ""
	case "apps.connections.open":
		ticket := fmt.Sprintf("%08x-fake-ticket", s.nextLocked())
		s.tickets[ticket] = true
		u := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + AppID
		return map[string]any{"url": u}, ""
	case "chat.postMessage", "chat.postEphemeral":
		return s.postLocked(method, p)
	case "chat.update":
		return s.updateLocked(p)
	case "chat.delete":
		return s.deleteLocked(p)
	case "reactions.add":
		return s.reactLocked(p)
	case "users.info":
		return s.userInfoLocked(p)
	case "conversations.info":
		return s.channelInfoLocked(p)
	case "conversations.replies":
		return s.repliesLocked(p)
	case "usergroups.users.list":
		members, ok := s.groups[p.Get("usergroup")]
		if !ok {
			return nil, "no_such_subteam"
		}
		return map[string]any{"users": append([]string{}, members...)}, ""
	case "files.getUploadURLExternal":
		return s.uploadURLLocked(p)
	case "files.completeUploadExternal":
		return s.completeUploadLocked(p)
	case "views.open":
		return s.viewsOpenLocked(p)
	case "views.push":
		return s.viewsPushLocked(p)
	case "views.update":
		return s.viewsUpdateLocked(p)
	case "views.publish":
		return s.viewsPublishLocked(p)
	case "apps.manifest.validate", "apps.manifest.create", "apps.manifest.update", "apps.manifest.export":
		return s.serveAppsLocked(method, p)
	}
	return nil, "unknown_method"
}

// content checks a message's text and blocks; it returns them, or a Slack
// error and its details.
func content(p url.Values) (text string, blocks json.RawMessage, slackErr string, details []string) {
	text = p.Get("text")
	if len(text) > MaxTextLen {
		return "", nil, "msg_too_long", nil
	}
	if b := p.Get("blocks"); b != "" {
		if errs := validateBlocks([]byte(b), "/blocks", MaxBlocks); len(errs) > 0 {
			return "", nil, "invalid_blocks", errs
		}
		blocks = json.RawMessage(b)
	}
	if text == "" && len(blocks) == 0 && p.Get("attachments") == "" {
		return "", nil, "no_text", nil
	}
	return text, blocks, "", nil
}

func blockErrorFields(details []string) map[string]any {
	if len(details) == 0 {
		return nil
	}
	return map[string]any{"errors": details, "response_metadata": map[string]any{"messages": details}}
}

func (s *Server) postLocked(method string, p url.Values) (map[string]any, string) {
	channel := p.Get("channel")
	if channel == "" {
		return nil, "channel_not_found"
	}
	text, blocks, serr, details := content(p)
	if serr != "" {
		return blockErrorFields(details), serr
	}
	ts := s.tsLocked()
	m := Message{Method: method, Channel: channel, TS: ts, ThreadTS: p.Get("thread_ts"), Text: text, Blocks: string(blocks)}
	if method == "chat.postEphemeral" {
		m.EphemeralUser = p.Get("user")
		if m.EphemeralUser == "" {
			return nil, "user_not_in_channel"
		}
		s.messages = append(s.messages, m)
		return map[string]any{"message_ts": ts}, ""
	}
	h := &histMsg{Channel: channel, TS: ts, ThreadTS: m.ThreadTS, User: BotUser, BotID: BotID, Text: text, Blocks: blocks}
	s.history[key(channel, ts)] = h
	s.messages = append(s.messages, m)
	return map[string]any{"channel": channel, "ts": ts, "message": h.wire()}, ""
}

// ownMessageLocked finds a message of the bot for chat.update and
// chat.delete.
func (s *Server) ownMessageLocked(p url.Values, notMine string) (*histMsg, string) {
	h := s.history[key(p.Get("channel"), p.Get("ts"))]
	switch {
	case h == nil:
		return nil, "message_not_found"
	case h.User != BotUser:
		return nil, notMine
	}
	return h, ""
}

func (s *Server) updateLocked(p url.Values) (map[string]any, string) {
	h, serr := s.ownMessageLocked(p, "cant_update_message")
	if serr != "" {
		return nil, serr
	}
	text, blocks, serr, details := content(p)
	if serr != "" {
		return blockErrorFields(details), serr
	}
	h.Text, h.Edited = text, true
	if p.Has("blocks") {
		h.Blocks = blocks
	}
	s.messages = append(s.messages, Message{Method: "chat.update", Channel: h.Channel, TS: h.TS, ThreadTS: h.ThreadTS, Text: text, Blocks: string(blocks)})
	return map[string]any{"channel": h.Channel, "ts": h.TS, "text": text, "message": h.wire()}, ""
}

func (s *Server) deleteLocked(p url.Values) (map[string]any, string) {
	h, serr := s.ownMessageLocked(p, "cant_delete_message")
	if serr != "" {
		return nil, serr
	}
	delete(s.history, key(h.Channel, h.TS))
	s.messages = append(s.messages, Message{Method: "chat.delete", Channel: h.Channel, TS: h.TS, ThreadTS: h.ThreadTS})
	return map[string]any{"channel": h.Channel, "ts": h.TS}, ""
}

func (s *Server) reactLocked(p url.Values) (map[string]any, string) {
	r := Reaction{Name: strings.Trim(p.Get("name"), ":"), Channel: p.Get("channel"), TS: p.Get("timestamp")}
	switch {
	case r.Name == "":
		return nil, "invalid_name"
	case r.Channel == "" || r.TS == "":
		return nil, "no_item_specified"
	case s.history[key(r.Channel, r.TS)] == nil:
		return nil, "message_not_found"
	case slices.Contains(s.reactions, r):
		return nil, "already_reacted"
	}
	s.reactions = append(s.reactions, r)
	return nil, ""
}

func (s *Server) userInfoLocked(p url.Values) (map[string]any, string) {
	id := p.Get("user")
	u, ok := s.users[id]
	if !ok {
		if !strings.HasPrefix(id, "U") && !strings.HasPrefix(id, "W") {
			return nil, "user_not_found"
		}
		u = User{ID: id, Name: strings.ToLower(id), RealName: "User " + id}
	}
	tz := u.TZ
	if tz == "" {
		tz = "Europe/London"
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "team_id": Team, "name": u.Name, "real_name": u.RealName, "deleted": u.Deleted,
		"is_bot": u.IsBot, "is_admin": u.IsAdmin, "tz": tz,
		"profile": map[string]any{"real_name": u.RealName, "display_name": u.Name, "email": u.Email},
	}}, ""
}

func (s *Server) channelInfoLocked(p url.Values) (map[string]any, string) {
	id := p.Get("channel")
	c, ok := s.channels[id]
	if !ok {
		switch {
		case strings.HasPrefix(id, "C"):
			c = Channel{ID: id, Name: strings.ToLower(id)}
		case strings.HasPrefix(id, "G"):
			c = Channel{ID: id, Name: strings.ToLower(id), IsPrivate: true}
		case strings.HasPrefix(id, "D"):
			c = Channel{ID: id, IsIM: true, IsPrivate: true}
		default:
			return nil, "channel_not_found"
		}
	}
	ch := map[string]any{"id": c.ID, "name": c.Name, "is_channel": !c.IsIM && !c.IsPrivate, "is_group": !c.IsIM && c.IsPrivate,
		"is_im": c.IsIM, "is_private": c.IsPrivate, "is_member": true, "is_archived": false, "context_team_id": Team}
	if c.IsIM {
		ch["user"] = c.User
		delete(ch, "name")
	}
	return map[string]any{"channel": ch}, ""
}

func (s *Server) repliesLocked(p url.Values) (map[string]any, string) {
	channel, ts := p.Get("channel"), p.Get("ts")
	if s.history[key(channel, ts)] == nil {
		return nil, "thread_not_found"
	}
	var thread []*histMsg
	for _, h := range s.history {
		if h.Channel == channel && (h.TS == ts || h.ThreadTS == ts) {
			thread = append(thread, h)
		}
	}
	slices.SortFunc(thread, func(a, b *histMsg) int { return strings.Compare(a.TS, b.TS) })
	msgs := []map[string]any{}
	for _, h := range thread {
		w := h.wire()
		if h.TS == ts && len(thread) > 1 {
			w["thread_ts"] = ts
			w["reply_count"] = len(thread) - 1
		}
		msgs = append(msgs, w)
	}
	return map[string]any{"messages": msgs, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, ""
}

func (s *Server) uploadURLLocked(p url.Values) (map[string]any, string) {
	n, err := strconv.Atoi(p.Get("length"))
	if p.Get("filename") == "" || err != nil || n <= 0 {
		return nil, "invalid_arguments"
	}
	id := fmt.Sprintf("F%08d", s.nextLocked())
	s.files[id] = &File{ID: id, Name: p.Get("filename"), Length: n, AltText: p.Get("alt_txt"), SnippetType: p.Get("snippet_type")}
	s.fileOrder = append(s.fileOrder, id)
	return map[string]any{"upload_url": s.http.URL + "/upload/v1/" + id, "file_id": id}, ""
}

func (s *Server) completeUploadLocked(p url.Values) (map[string]any, string) {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.Get("files")), &files); err != nil || len(files) == 0 {
		return nil, "invalid_arguments"
	}
	for _, f := range files {
		if got := s.files[f.ID]; got == nil || got.Content == nil {
			return nil, "file_not_found"
		}
	}
	channel := p.Get("channel_id")
	if channel == "" {
		channel, _, _ = strings.Cut(p.Get("channels"), ",")
	}
	out := []map[string]any{}
	for _, f := range files {
		got := s.files[f.ID]
		got.Title = f.Title
		if got.Title == "" {
			got.Title = got.Name
		}
		got.Channel, got.ThreadTS, got.InitialComment, got.Completed = channel, p.Get("thread_ts"), p.Get("initial_comment"), true
		out = append(out, map[string]any{"id": got.ID, "title": got.Title})
	}
	return map[string]any{"files": out}, ""
}

// serveUpload takes the file content POSTed to an upload URL, as a
// multipart "file" field or as the raw body.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/v1/")
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var content []byte
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		if err = r.ParseMultipartForm(32 << 20); err == nil {
			f, _, ferr := r.FormFile("file")
			if err = ferr; err == nil {
				content, err = io.ReadAll(f)
				f.Close()
			}
		}
	} else {
		content, err = io.ReadAll(r.Body)
	}
	if err != nil {
		http.Error(w, "bad upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.files[id]
	if f != nil {
		f.Content = append([]byte{}, content...)
		s.notifyLocked()
	}
	s.mu.Unlock()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "OK - %d", len(content))
}
