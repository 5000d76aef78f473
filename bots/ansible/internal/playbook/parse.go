// Package playbook follows the output of ansible-playbook's default stdout
// callback line by line and keeps what a person wants to see while a play
// runs and after: the current play and task, counts of results, the first
// failure with its message, the PLAY RECAP per host, and ansible's own error
// line (a syntax error, an interrupted run).
//
// The default callback is line-oriented, so progress is known as it
// happens; the json callback prints one document at the end. The parser is
// tested against real ansible-core output in testdata.
package playbook

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// Result is one host's outcome of one task, ranked so that the worst of a
// loop's items stands for the task.
type Result int

// Results, from best to worst.
const (
	Skipped Result = iota + 1
	OK
	Changed
	Failed
	Unreachable
)

// HostRecap is one line of the PLAY RECAP.
type HostRecap struct {
	Host        string `json:"host"`
	OK          int    `json:"ok"`
	Changed     int    `json:"changed"`
	Unreachable int    `json:"unreachable"`
	Failed      int    `json:"failed"`
	Skipped     int    `json:"skipped"`
	Rescued     int    `json:"rescued"`
	Ignored     int    `json:"ignored"`
}

// String renders the recap line as ansible prints it, minus the padding.
func (h HostRecap) String() string {
	return h.Host + " : ok=" + strconv.Itoa(h.OK) + " changed=" + strconv.Itoa(h.Changed) +
		" unreachable=" + strconv.Itoa(h.Unreachable) + " failed=" + strconv.Itoa(h.Failed) +
		" skipped=" + strconv.Itoa(h.Skipped) + " rescued=" + strconv.Itoa(h.Rescued) +
		" ignored=" + strconv.Itoa(h.Ignored)
}

// Failure is a task that failed on a host and was not ignored.
type Failure struct {
	Task string `json:"task"`
	Host string `json:"host"`
	Item string `json:"item,omitempty"` // the loop item, if a loop failed
	Msg  string `json:"msg"`            // the module's message and stderr, cut
}

// State is what the output has shown so far. Counts are of task × host
// results (a loop counts once per host, as its worst item), so they match
// the recap's failed, skipped and unreachable, and its changed.
type State struct {
	Play        string
	Task        string
	Tasks       int // tasks (and handlers) started
	OK          int // successful results, changed included (as in the recap)
	Changed     int
	Failed      int
	Skipped     int
	Unreachable int
	Failure     *Failure    // the first failure that was not ignored
	Recap       []HostRecap // set once PLAY RECAP is printed
	Error       string      // ansible's ERROR! line, if any
}

// maxMsg bounds a failure's message: enough for an error and a few lines of
// stderr, short enough for a Slack message.
const maxMsg = 1500

// maxJSONLines bounds how many lines a multi-line result may span before
// the parser gives up on it.
const maxJSONLines = 400

// Parser turns lines of output into a State. It is not safe for concurrent
// use; the zero value is ready.
type Parser struct {
	st      State
	results map[string]Result // host -> result in the current task
	pending *Failure          // a failure that "...ignoring" may still cancel
	inRecap bool
	// a result whose JSON spans several lines (verbose or yaml output)
	multi      []string
	multiFail  *Failure
	multiLines int
}

var (
	headerRE = regexp.MustCompile(`^(PLAY|TASK|RUNNING HANDLER) \[(.*)\] \*+\s*$`)
	recapRE  = regexp.MustCompile(`^PLAY RECAP \*+\s*$`)
	resultRE = regexp.MustCompile(`^(ok|changed|skipping|fatal|failed|unreachable): \[([^\]]*)\](.*)$`)
	hostRE   = regexp.MustCompile(`^(\S+)\s+: (.*)$`)
	itemRE   = regexp.MustCompile(`\(item=(.*?)\)`)
)

// State returns what was seen so far. The Failure and Recap are shared with
// the parser until the next Feed: copy them to keep them.
func (p *Parser) State() State {
	st := p.st
	if st.Failure == nil && p.pending != nil {
		st.Failure = p.pending
	}
	return st
}

// Feed parses one line, without its newline.
func (p *Parser) Feed(line string) {
	line = strings.TrimRight(line, "\r")
	if p.multi != nil {
		p.feedMulti(line)
		return
	}
	if p.pending != nil {
		if strings.TrimSpace(line) == "...ignoring" {
			// An ignored failure counts as ok, as in the recap.
			if r, ok := p.results[p.pending.Host]; ok && r >= Failed {
				p.add(r, -1)
				p.add(OK, +1)
				p.results[p.pending.Host] = OK
			}
			p.pending = nil
			return
		}
		p.commitFailure()
	}
	if m := headerRE.FindStringSubmatch(line); m != nil {
		p.inRecap = false
		if m[1] == "PLAY" {
			p.st.Play, p.st.Task = m[2], ""
			p.results = nil
			return
		}
		p.st.Task = m[2]
		p.st.Tasks++
		p.results = map[string]Result{}
		return
	}
	if recapRE.MatchString(line) {
		p.inRecap = true
		p.st.Task = ""
		return
	}
	if p.inRecap {
		if h, ok := parseRecap(line); ok {
			p.st.Recap = append(p.st.Recap, h)
		}
		return
	}
	if m := resultRE.FindStringSubmatch(line); m != nil {
		p.result(m[1], m[2], m[3])
		return
	}
	if p.st.Error == "" {
		for _, prefix := range []string{"ERROR! ", "[ERROR]: "} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				p.st.Error = clip(rest, maxMsg)
			}
		}
	}
}

// Finish ends the output: a failure still waiting for "...ignoring" counts.
func (p *Parser) Finish() State {
	if p.multi != nil {
		p.endMulti()
	}
	if p.pending != nil {
		p.commitFailure()
	}
	return p.st
}

func (p *Parser) commitFailure() {
	if p.st.Failure == nil {
		p.st.Failure = p.pending
	}
	p.pending = nil
}

func (p *Parser) result(word, host, rest string) {
	// "web1 -> db1" is a delegated task: the result belongs to web1.
	host, _, _ = strings.Cut(host, " -> ")
	var r Result
	switch word {
	case "ok":
		r = OK
	case "changed":
		r = Changed
	case "skipping":
		r = Skipped
	case "unreachable":
		r = Unreachable
	case "fatal", "failed":
		r = Failed
		if strings.HasPrefix(rest, ": UNREACHABLE!") {
			r = Unreachable
		}
	}
	p.count(host, r)
	if r < Failed {
		return
	}
	f := &Failure{Task: p.st.Task, Host: host}
	if m := itemRE.FindStringSubmatch(rest); m != nil {
		f.Item = m[1]
	}
	i := strings.Index(rest, "=> {")
	if i < 0 {
		p.pending = f
		return
	}
	doc := rest[i+len("=> "):]
	if msg, ok := message(doc); ok {
		f.Msg = msg
		p.pending = f
		return
	}
	// The result goes on over the next lines (pretty-printed JSON).
	p.multi, p.multiFail, p.multiLines = []string{doc}, f, 0
}

func (p *Parser) feedMulti(line string) {
	p.multi = append(p.multi, line)
	p.multiLines++
	if line == "}" || p.multiLines >= maxJSONLines {
		p.endMulti()
	}
}

func (p *Parser) endMulti() {
	f := p.multiFail
	if msg, ok := message(strings.Join(p.multi, "\n")); ok {
		f.Msg = msg
	}
	p.multi, p.multiFail = nil, nil
	p.pending = f
}

// count records host's result in the current task: the worst result of a
// host in a task counts once.
func (p *Parser) count(host string, r Result) {
	if p.results == nil {
		p.results = map[string]Result{}
	}
	old, seen := p.results[host]
	if seen && old >= r {
		return
	}
	if seen {
		p.add(old, -1)
	}
	p.results[host] = r
	p.add(r, +1)
}

func (p *Parser) add(r Result, n int) {
	switch r {
	case OK:
		p.st.OK += n
	case Changed:
		p.st.OK += n
		p.st.Changed += n
	case Skipped:
		p.st.Skipped += n
	case Failed:
		p.st.Failed += n
	case Unreachable:
		p.st.Unreachable += n
	}
}

// message extracts what a person needs from a failed result's JSON: msg,
// then stderr (or a module's stderr), cut. ok is false when doc is not a
// complete JSON object.
func message(doc string) (string, bool) {
	var res map[string]any
	if err := json.Unmarshal([]byte(doc), &res); err != nil {
		return "", false
	}
	var parts []string
	for _, k := range []string{"msg", "reason", "stderr", "module_stderr"} {
		if s, ok := res[k].(string); ok && strings.TrimSpace(s) != "" {
			parts = append(parts, strings.TrimSpace(s))
		}
	}
	return clip(strings.Join(parts, "\n"), maxMsg), true
}

func parseRecap(line string) (HostRecap, bool) {
	m := hostRE.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return HostRecap{}, false
	}
	h := HostRecap{Host: m[1]}
	found := false
	for _, kv := range strings.Fields(m[2]) {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			continue
		}
		found = true
		switch k {
		case "ok":
			h.OK = n
		case "changed":
			h.Changed = n
		case "unreachable":
			h.Unreachable = n
		case "failed":
			h.Failed = n
		case "skipped":
			h.Skipped = n
		case "rescued":
			h.Rescued = n
		case "ignored":
			h.Ignored = n
		}
	}
	return h, found
}

// clip cuts s to n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
