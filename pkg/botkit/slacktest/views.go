package slacktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Slack's documented limits on views that the fake enforces
// (docs.slack.dev/reference/views, /methods/views.push, /surfaces/modals).
const (
	// MaxViewBlocks is the most blocks a modal or a home tab may have.
	MaxViewBlocks = 100
	// MaxViewStack is how many modals a user's stack holds: views.push
	// answers push_limit_reached beyond it ("Currently the limit is 3").
	MaxViewStack = 3
	// maxViewText bounds a modal's title, submit and close texts ("must be
	// less than 25 characters").
	maxViewText = 24
	// maxPrivateMetadata bounds private_metadata.
	maxPrivateMetadata = 3000
	// maxViewSize is where views.* answer view_too_large ("greater than
	// 250kb").
	maxViewSize = 250 << 10
)

// View is a modal or a home tab the bot opened, pushed, updated or
// published, as the fake holds it.
type View struct {
	ID              string // V…; a user's home tab keeps its id across views.publish
	Type            string // modal or home
	User            string // whose view it is
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	Hash            string // changes with every update; views.update and views.publish check it
	Title           string // the title's text ("" if none); Submit and Close likewise
	Submit          string
	Close           string
	// Blocks is the blocks JSON array, with the block_id and action_id
	// Slack fills in where the bot left them out.
	Blocks string
	// State is the view's state JSON object, {"values": {block_id:
	// {action_id: {"type": …, …}}}}, as the user's last interaction left it.
	State string
	// Errors are the errors of a response_action errors answer, by
	// block_id, shown beside the inputs until the view changes.
	Errors                      map[string]string
	NotifyOnClose, ClearOnClose bool
	RootViewID, PreviousViewID  string
}

// view is the fake's state of a view. Guarded by Server.mu.
type view struct {
	id, typ, user                                 string
	callbackID, privateMetadata, externalID, hash string
	title, close, submit                          json.RawMessage // text objects; nil if absent
	blocks                                        []map[string]any
	notifyOnClose, clearOnClose                   bool
	rootID, previousID                            string
	state                                         viewState
	errors                                        map[string]string
}

func (v *view) export() View {
	out := View{ID: v.id, Type: v.typ, User: v.user, CallbackID: v.callbackID, PrivateMetadata: v.privateMetadata,
		ExternalID: v.externalID, Hash: v.hash, Title: textString(v.title), Submit: textString(v.submit), Close: textString(v.close),
		Blocks: string(marshal(v.blocks)), State: string(marshal(v.stateObject())), NotifyOnClose: v.notifyOnClose,
		ClearOnClose: v.clearOnClose, RootViewID: v.rootID, PreviousViewID: v.previousID}
	out.Errors = maps.Clone(v.errors)
	return out
}

func textString(raw json.RawMessage) string {
	if t := textOf(raw); t != nil {
		return *t
	}
	return ""
}

func (v *view) stateObject() map[string]any {
	values := map[string]any{}
	for b, actions := range v.state {
		values[b] = actions
	}
	return map[string]any{"values": values}
}

// wire is the view object of Slack's answers and payloads.
func (v *view) wire() map[string]any {
	var previous any
	if v.previousID != "" {
		previous = v.previousID
	}
	return map[string]any{
		"id": v.id, "team_id": Team, "type": v.typ, "blocks": v.blocks, "private_metadata": v.privateMetadata,
		"callback_id": v.callbackID, "state": v.stateObject(), "hash": v.hash, "title": rawOrNull(v.title),
		"clear_on_close": v.clearOnClose, "notify_on_close": v.notifyOnClose, "close": rawOrNull(v.close),
		"submit": rawOrNull(v.submit), "previous_view_id": previous, "root_view_id": v.rootID, "app_id": AppID,
		"external_id": v.externalID, "app_installed_team_id": Team, "bot_id": BotID,
	}
}

func rawOrNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// Modals returns user's open modals, the root first and the one on top
// last; none if no modal is open.
func (s *Server) Modals(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, id := range s.stacks[user] {
		out = append(out, s.views[id].export())
	}
	return out
}

// Home returns the home tab the bot published for user, and whether there
// is one.
func (s *Server) Home(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[s.homes[user]]; v != nil {
		return v.export(), true
	}
	return View{}, false
}

// View returns the open modal or home tab id, and whether there is one.
func (s *Server) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[id]; v != nil {
		return v.export(), true
	}
	return View{}, false
}

// WaitModal waits until user has a modal open whose callback_id is
// callbackID (any, if empty) on top of the stack, and returns it. It fails
// the test after the wait timeout.
func (s *Server) WaitModal(t testing.TB, user, callbackID string) View {
	t.Helper()
	var top View
	ok := s.wait(0, func() bool {
		m := s.Modals(user)
		if len(m) == 0 {
			return false
		}
		top = m[len(m)-1]
		return callbackID == "" || top.CallbackID == callbackID
	})
	if !ok {
		t.Fatalf("slacktest: no modal %q open for %s within %v\n%s", callbackID, user, s.cfg.waitTimeout, s.dump())
	}
	return top
}

// idLocked returns a fresh id with prefix, like V0000000012.
func (s *Server) idLocked(prefix string) string {
	return fmt.Sprintf("%s%010d", prefix, s.nextLocked())
}

// hashLocked returns a fresh view hash, shaped like Slack's
// "156772938.1827394".
func (s *Server) hashLocked() string {
	n := s.nextLocked()
	return fmt.Sprintf("%d.%08x", 1700000000+n, uint32(n)*2654435761)
}

// shortIDLocked returns a block_id or action_id for an element the bot left
// without one, as Slack makes up short random ones.
func (s *Server) shortIDLocked() string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	n := s.nextLocked()
	id := []byte{'='}
	for ; n > 0; n /= len(digits) {
		id = append(id, digits[n%len(digits)])
	}
	return string(id)
}

// parseViewLocked checks a view payload of type want against Slack's
// cheap-to-check rules and returns it, or a Slack error with its
// response_metadata messages.
func (s *Server) parseViewLocked(raw, want string) (*view, string, []string) {
	if len(raw) > maxViewSize {
		return nil, "view_too_large", nil
	}
	var m map[string]json.RawMessage
	if raw == "" || json.Unmarshal([]byte(raw), &m) != nil || m == nil {
		return nil, "invalid_arguments", []string{"[ERROR] must provide an object [json-pointer:/view]"}
	}
	var errs []string
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:/view%s]", append(args, ptr)...))
	}
	if typ := str(m["type"]); typ != want {
		bad("/type", "must be %q", want)
	}
	texts := []string{"title", "submit", "close"}
	if want == "home" {
		texts = nil // a home tab has none of them
	}
	for _, name := range texts {
		t := textOf(m[name])
		switch {
		case t == nil && name == "title":
			bad("/title", "missing required field: title")
		case t != nil && utf8.RuneCountInString(*t) > maxViewText:
			bad("/"+name+"/text", "must be less than %d characters", maxViewText+1)
		}
	}
	blocksRaw, ok := m["blocks"]
	if !ok {
		bad("/blocks", "missing required field: blocks")
	} else {
		errs = append(errs, validateBlocks(blocksRaw, "/view/blocks", MaxViewBlocks)...)
	}
	blocks := decodeBlocks(blocksRaw)
	seen := map[string]int{}
	inputs := 0
	for i, b := range blocks {
		if b == nil {
			continue
		}
		if b["type"] == "input" {
			inputs++
		}
		if id, _ := b["block_id"].(string); id != "" {
			if j, dup := seen[id]; dup {
				bad(fmt.Sprintf("/blocks/%d/block_id", i), "must be unique (block %d has it too)", j)
			}
			seen[id] = i
		}
	}
	if want == "modal" && inputs > 0 && textOf(m["submit"]) == nil {
		bad("/submit", "must provide submit when the view has input blocks")
	}
	for _, f := range []struct {
		name  string
		limit int
	}{{"private_metadata", maxPrivateMetadata}, {"callback_id", 255}, {"external_id", 255}} {
		if utf8.RuneCountInString(str(m[f.name])) > f.limit {
			bad("/"+f.name, "must be less than %d characters", f.limit+1)
		}
	}
	if len(errs) > 0 {
		return nil, "invalid_arguments", errs
	}
	for _, b := range blocks {
		if id, _ := b["block_id"].(string); id == "" {
			b["block_id"] = s.shortIDLocked()
		}
		for _, el := range elementsOf(b) {
			if id, _ := el["action_id"].(string); id == "" && interactive(el) {
				el["action_id"] = s.shortIDLocked()
			}
		}
	}
	if blocks == nil {
		blocks = []map[string]any{}
	}
	v := &view{typ: want, callbackID: str(m["callback_id"]), privateMetadata: str(m["private_metadata"]),
		externalID: str(m["external_id"]), blocks: blocks, state: viewState{}}
	if want == "modal" {
		v.title, v.submit, v.close = m["title"], m["submit"], m["close"]
	}
	_ = json.Unmarshal(m["notify_on_close"], &v.notifyOnClose)
	_ = json.Unmarshal(m["clear_on_close"], &v.clearOnClose)
	return v, "", nil
}

// elementsOf returns the elements a block holds: an input's element, a
// section's accessory, an actions block's elements.
func elementsOf(b map[string]any) []map[string]any {
	var out []map[string]any
	if el, ok := b["element"].(map[string]any); ok {
		out = append(out, el)
	}
	if el, ok := b["accessory"].(map[string]any); ok {
		out = append(out, el)
	}
	if b["type"] == "actions" {
		els, _ := b["elements"].([]any)
		for _, e := range els {
			if el, ok := e.(map[string]any); ok {
				out = append(out, el)
			}
		}
	}
	return out
}

// interactive reports whether an element sends actions (an image accessory
// does not).
func interactive(el map[string]any) bool {
	t, _ := el["type"].(string)
	return t != "" && t != "image" && t != "plain_text" && t != "mrkdwn"
}

// viewFields are the fields of an ok:false answer that carries messages.
func viewFields(msgs []string) map[string]any {
	if len(msgs) == 0 {
		return nil
	}
	return map[string]any{"response_metadata": map[string]any{"messages": msgs}}
}

// externalTakenLocked reports whether another live view than self uses
// externalID.
func (s *Server) externalTakenLocked(externalID, self string) bool {
	if externalID == "" {
		return false
	}
	id, ok := s.externals[externalID]
	return ok && id != self
}

// storeLocked gives v a fresh hash, keeps it and indexes its external_id.
func (s *Server) storeLocked(v *view) {
	v.hash = s.hashLocked()
	for ext, id := range s.externals {
		if id == v.id {
			delete(s.externals, ext)
		}
	}
	if v.externalID != "" {
		s.externals[v.externalID] = v.id
	}
	s.views[v.id] = v
}

// dropLocked forgets a closed view.
func (s *Server) dropLocked(id string) {
	if v := s.views[id]; v != nil && v.externalID != "" {
		delete(s.externals, v.externalID)
	}
	delete(s.views, id)
}

// closeModalsLocked closes every modal of user.
func (s *Server) closeModalsLocked(user string) {
	for _, id := range s.stacks[user] {
		s.dropLocked(id)
	}
	delete(s.stacks, user)
}

func (s *Server) viewsOpenLocked(p url.Values) (map[string]any, string) {
	tr, serr := s.exchangeLocked(p.Get("trigger_id"))
	if serr != "" {
		return nil, serr
	}
	v, serr, msgs := s.parseViewLocked(p.Get("view"), "modal")
	if serr != "" {
		return viewFields(msgs), serr
	}
	if s.externalTakenLocked(v.externalID, "") {
		return nil, "duplicate_external_id"
	}
	tr.used = true
	s.closeModalsLocked(tr.user) // a new modal replaces what the user had open
	v.id, v.user = s.idLocked("V"), tr.user
	v.rootID = v.id
	s.storeLocked(v)
	s.stacks[v.user] = []string{v.id}
	return map[string]any{"view": v.wire()}, ""
}

func (s *Server) viewsPushLocked(p url.Values) (map[string]any, string) {
	tr, serr := s.exchangeLocked(p.Get("trigger_id"))
	if serr != "" {
		return nil, serr
	}
	v, serr, msgs := s.parseViewLocked(p.Get("view"), "modal")
	if serr != "" {
		return viewFields(msgs), serr
	}
	stack := s.stacks[tr.user]
	switch {
	case len(stack) == 0:
		return nil, "not_found" // nothing open to push onto
	case len(stack) >= MaxViewStack:
		return nil, "push_limit_reached"
	case s.externalTakenLocked(v.externalID, ""):
		return nil, "duplicate_external_id"
	}
	tr.used = true
	s.pushLocked(tr.user, v)
	return map[string]any{"view": v.wire()}, ""
}

// pushLocked puts v on top of user's modal stack.
func (s *Server) pushLocked(user string, v *view) {
	stack := s.stacks[user]
	v.id, v.user = s.idLocked("V"), user
	v.rootID, v.previousID = stack[0], stack[len(stack)-1]
	s.storeLocked(v)
	s.stacks[user] = append(stack, v.id)
}

func (s *Server) viewsUpdateLocked(p url.Values) (map[string]any, string) {
	id := p.Get("view_id")
	if id == "" {
		ext := p.Get("external_id")
		if ext == "" {
			return viewFields([]string{"[ERROR] must provide view_id or external_id"}), "invalid_arguments"
		}
		id = s.externals[ext]
	}
	old := s.views[id]
	if old == nil {
		return nil, "not_found"
	}
	if h := p.Get("hash"); h != "" && h != old.hash {
		return nil, "hash_conflict"
	}
	v, serr, msgs := s.parseViewLocked(p.Get("view"), old.typ)
	if serr != "" {
		return viewFields(msgs), serr
	}
	if s.externalTakenLocked(v.externalID, old.id) {
		return nil, "duplicate_external_id"
	}
	s.replaceLocked(old, v)
	return map[string]any{"view": old.wire()}, ""
}

// replaceLocked puts the content of v in old, which keeps its id and place.
func (s *Server) replaceLocked(old, v *view) {
	v.id, v.user, v.rootID, v.previousID = old.id, old.user, old.rootID, old.previousID
	*old = *v
	s.storeLocked(old)
}

func (s *Server) viewsPublishLocked(p url.Values) (map[string]any, string) {
	user := p.Get("user_id")
	switch {
	case user == "":
		return viewFields([]string{"[ERROR] missing required field: user_id"}), "invalid_arguments"
	case !strings.HasPrefix(user, "U") && !strings.HasPrefix(user, "W"):
		return nil, "user_not_found"
	}
	v, serr, msgs := s.parseViewLocked(p.Get("view"), "home")
	if serr != "" {
		return viewFields(msgs), serr
	}
	old := s.views[s.homes[user]]
	if h := p.Get("hash"); h != "" && (old == nil || h != old.hash) {
		return nil, "hash_conflict"
	}
	self := ""
	if old != nil {
		self = old.id
	}
	if s.externalTakenLocked(v.externalID, self) {
		return nil, "duplicate_external_id"
	}
	if old != nil {
		s.replaceLocked(old, v)
		return map[string]any{"view": old.wire()}, ""
	}
	v.id, v.user = s.idLocked("V"), user
	v.rootID = v.id
	s.storeLocked(v)
	s.homes[user] = v.id
	return map[string]any{"view": v.wire()}, ""
}
