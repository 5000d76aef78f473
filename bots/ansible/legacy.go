package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// legacyName names the import of the history the bot kept before its
// deploys were jobs: $BOT_STATE_DIR/history.jsonl and seq, where its
// state_dir was.
const legacyName = "ansible-history.jsonl"

// legacyRecord is a line of that history; a deploy's last line wins.
type legacyRecord struct {
	ID          int64                `json:"id"`
	Status      string               `json:"status"`
	App         string               `json:"app"`
	Env         string               `json:"env"`
	Branch      string               `json:"branch"`
	User        string               `json:"user"`
	Channel     string               `json:"channel"`
	Message     string               `json:"message_ts"`
	Thread      string               `json:"thread_ts"`
	Instance    string               `json:"instance"`
	Commit      string               `json:"commit"`
	Started     time.Time            `json:"started"`
	Ended       time.Time            `json:"ended"`
	Task        string               `json:"task"`
	Error       string               `json:"error"`
	CancelledBy string               `json:"cancelled_by"`
	Recap       []playbook.HostRecap `json:"recap"`
	Notified    bool                 `json:"notified"`
}

var legacyStatus = map[string]jobs.Status{
	"ok": jobs.Succeeded, "failed": jobs.Failed, "cancelled": jobs.Cancelled, "timeout": jobs.TimedOut,
	"interrupted": jobs.Interrupted, "error": jobs.Failed, "running": jobs.Interrupted,
}

// importLegacy adds the deploys of the old history in stateDir to the
// jobs' history, once, and numbers on after the old counter: a deployment
// that upgrades keeps its history, and no number repeats. Torn or foreign
// lines are skipped, as the old bot skipped them.
func importLegacy(ctx context.Context, st *jobs.Store, stateDir string) error {
	hist, err := os.ReadFile(filepath.Join(stateDir, "history.jsonl"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var seq int64
	if b, err := os.ReadFile(filepath.Join(stateDir, "seq")); err == nil {
		seq, _ = strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	}
	if len(hist) == 0 && seq == 0 {
		return nil
	}
	last := map[int64]legacyRecord{}
	for line := range bytes.SplitSeq(hist, []byte("\n")) {
		var r legacyRecord
		if json.Unmarshal(line, &r) != nil || r.ID <= 0 || legacyStatus[r.Status] == "" || r.App == "" || r.Env == "" || r.Started.IsZero() {
			continue
		}
		last[r.ID] = r
	}
	recs := make([]jobs.Record, 0, len(last))
	for _, r := range last {
		rec, err := r.record()
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	_, err = st.Import(ctx, legacyName, recs, seq)
	return err
}

func (r legacyRecord) record() (jobs.Record, error) {
	data, err := json.Marshal(deployData{Commit: r.Commit, Task: r.Task, Recap: r.Recap})
	if err != nil {
		return jobs.Record{}, err
	}
	rec := jobs.Record{ID: r.ID, Status: legacyStatus[r.Status], Kind: "deploy", Key: lockKey(r.App, r.Env), User: r.User,
		Args:    map[string]string{"app": r.App, "env": r.Env, "branch": r.Branch},
		Title:   fmt.Sprintf("deploying `%s` of `%s` to *%s*", r.Branch, r.App, r.Env),
		Channel: r.Channel, Thread: r.Thread, Message: r.Message, Instance: r.Instance,
		Created: r.Started, Started: r.Started, Ended: r.Ended, Error: r.Error, CancelledBy: r.CancelledBy,
		Data: data, Notified: r.Notified}
	if r.Status == "running" {
		// Its bot was the version before this one; nothing runs it now.
		rec.Ended = time.Now().UTC()
		rec.Error = "it was running under the bot's previous version when this one started"
	}
	return rec, nil
}
