package botkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// InteractionsDir is the directory, under the bot's state directory, that
// holds pending confirmations and approvals, one directory per record:
//
//	interactions/<id>/record.json  the command and its question (written once)
//	interactions/<id>/posted.json  the messages that carry its buttons
//	interactions/<id>/vote.<user>  one approver's approval (created O_EXCL)
//	interactions/<id>/decided      the verdict (created O_EXCL: the decision)
//
// A record appears whole: it is written in a hidden directory and renamed.
// Its verdict is a file created with O_EXCL, which exactly one process
// sharing the directory can create (on a local disk and on NFSv4, as EFS
// is), so a record is decided once, with no lock.
const InteractionsDir = "interactions"

// Files of a record's directory.
const (
	recordFile  = "record.json"
	postedFile  = "posted.json"
	decidedFile = "decided"
	votePrefix  = "vote."
	newPrefix   = ".new-"
)

// staleNew is how old a half-written record's hidden directory must be to
// be removed: its writer has died.
const staleNew = time.Hour

// dirInteractions keeps records in a directory that outlives the process
// and that several processes may share.
type dirInteractions struct {
	dir string
}

// newDirInteractions returns the store under stateDir, creating its
// directory.
func newDirInteractions(stateDir string) (*dirInteractions, error) {
	dir := filepath.Join(stateDir, InteractionsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &dirInteractions{dir: dir}, nil
}

func (d *dirInteractions) durable() bool { return true }

// path returns the path of a record's file; id was checked by the caller
// or made here.
func (d *dirInteractions) path(id string, name ...string) string {
	return filepath.Join(append([]string{d.dir, id}, name...)...)
}

func (d *dirInteractions) add(it *interaction) error {
	open, err := d.open()
	if err != nil {
		return err
	}
	mine := 0
	for _, o := range open {
		if o.Run.User == it.Run.User {
			mine++
		}
	}
	switch {
	case mine >= maxPendingPerUser:
		return errTooManyForUser
	case len(open) >= maxPending:
		return errTooMany
	}
	data, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("encoding interaction %s: %w", it.ID, err)
	}
	tmp, err := os.MkdirTemp(d.dir, newPrefix+it.ID+"-")
	if err != nil {
		return fmt.Errorf("storing interaction %s: %w", it.ID, err)
	}
	if err := writeSynced(filepath.Join(tmp, recordFile), data); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("storing interaction %s: %w", it.ID, err)
	}
	if err := os.Rename(tmp, d.path(it.ID)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("storing interaction %s: %w", it.ID, err)
	}
	return nil
}

// writeSynced writes a new file and syncs it, so a record another process
// reads after the rename is whole.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *dirInteractions) setPosted(id string, refs []postedRef) error {
	data, err := json.Marshal(refs)
	if err != nil {
		return fmt.Errorf("encoding messages of interaction %s: %w", id, err)
	}
	f, err := os.CreateTemp(d.path(id), ".posted-")
	if err != nil {
		return fmt.Errorf("storing messages of interaction %s: %w", id, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.path(id, postedFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("storing messages of interaction %s: %w", id, err)
	}
	return nil
}

func (d *dirInteractions) get(id string) (*interaction, error) {
	data, err := os.ReadFile(d.path(id, recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoInteraction
	}
	if err != nil {
		return nil, fmt.Errorf("reading interaction %s: %w", id, err)
	}
	var it interaction
	if err := json.Unmarshal(data, &it); err != nil {
		return nil, fmt.Errorf("reading interaction %s: %w", id, err)
	}
	if it.ID != id {
		return nil, fmt.Errorf("reading interaction %s: the record is of %q", id, it.ID)
	}
	switch data, err := os.ReadFile(d.path(id, postedFile)); {
	case err == nil:
		if err := json.Unmarshal(data, &it.Posted); err != nil {
			return nil, fmt.Errorf("reading messages of interaction %s: %w", id, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading messages of interaction %s: %w", id, err)
	}
	return &it, nil
}

func (d *dirInteractions) vote(id string, v vote) ([]vote, bool, error) {
	if !userIDPattern.MatchString(v.User) {
		return nil, false, fmt.Errorf("voting on interaction %s: %q is not a user id", id, v.User)
	}
	if _, err := os.Stat(d.path(id, recordFile)); err != nil {
		return nil, false, errNoInteraction
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, false, fmt.Errorf("encoding vote on %s: %w", id, err)
	}
	fresh := true
	switch err := writeSynced(d.path(id, votePrefix+v.User), data); {
	case errors.Is(err, fs.ErrExist):
		fresh = false
	case err != nil:
		return nil, false, fmt.Errorf("voting on interaction %s: %w", id, err)
	}
	votes, err := d.votes(id)
	return votes, fresh, err
}

func (d *dirInteractions) votes(id string) ([]vote, error) {
	entries, err := os.ReadDir(d.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoInteraction
	}
	if err != nil {
		return nil, fmt.Errorf("reading votes on %s: %w", id, err)
	}
	var votes []vote
	for _, e := range entries {
		user, ok := strings.CutPrefix(e.Name(), votePrefix)
		if !ok || !userIDPattern.MatchString(user) {
			continue
		}
		// A vote being written may read empty: it counts all the same,
		// since its file exists.
		got := vote{User: user}
		if data, err := os.ReadFile(d.path(id, e.Name())); err == nil {
			var w vote
			if json.Unmarshal(data, &w) == nil && w.User == user {
				got = w
			}
		}
		votes = append(votes, got)
	}
	return votes, nil
}

func (d *dirInteractions) decide(id string, v verdict) (bool, verdict, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return false, verdict{}, fmt.Errorf("encoding verdict on %s: %w", id, err)
	}
	switch err := writeSynced(d.path(id, decidedFile), data); {
	case err == nil:
		return true, v, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, verdict{}, errNoInteraction
	case !errors.Is(err, fs.ErrExist):
		return false, verdict{}, fmt.Errorf("deciding interaction %s: %w", id, err)
	}
	got, _, err := d.verdict(id)
	return false, got, err
}

// verdictReads bounds how long verdict waits for the content of a verdict
// file just created by another process, which it writes right after.
const verdictReads = 50

func (d *dirInteractions) verdict(id string) (verdict, bool, error) {
	for range verdictReads {
		data, err := os.ReadFile(d.path(id, decidedFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Stat(d.path(id, recordFile)); err != nil {
				return verdict{}, false, errNoInteraction
			}
			return verdict{}, false, nil
		case err != nil:
			return verdict{}, false, fmt.Errorf("reading verdict on %s: %w", id, err)
		}
		var v verdict
		if json.Unmarshal(data, &v) == nil && v.Outcome != "" {
			return v, true, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Decided all the same: the file exists. Its writer died mid-write.
	return verdict{Outcome: "decided"}, true, nil
}

func (d *dirInteractions) open() ([]*interaction, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("listing interactions: %w", err)
	}
	var out []*interaction
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || !interactionIDPattern.MatchString(id) {
			continue
		}
		if _, err := os.Stat(d.path(id, decidedFile)); err == nil {
			continue
		}
		it, err := d.get(id)
		if errors.Is(err, errNoInteraction) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// waiting lists the undecided records of kind from names and metadata
// alone: a record's kind is the first letter of its id, and the time its
// record.json was written orders it. Two stats a record, no reads, however
// many records wait: on EFS each read is a round trip.
func (d *dirInteractions) waiting(kind string) ([]waitingRef, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("listing interactions: %w", err)
	}
	var out []waitingRef
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || !strings.HasPrefix(id, kind[:1]) || !interactionIDPattern.MatchString(id) {
			continue
		}
		if _, err := os.Stat(d.path(id, decidedFile)); err == nil {
			continue
		}
		fi, err := os.Stat(d.path(id, recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading interaction %s: %w", id, err)
		}
		out = append(out, waitingRef{ID: id, Since: fi.ModTime()})
	}
	return out, nil
}

func (d *dirInteractions) prune(now time.Time) error {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("listing interactions: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		old := false
		switch {
		case strings.HasPrefix(name, newPrefix):
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleNew {
				old = true
			}
		case interactionIDPattern.MatchString(name):
			if v, ok, err := d.verdict(name); err == nil && ok && now.Sub(v.At) > keepDecided {
				old = true
			}
		}
		if old {
			if err := os.RemoveAll(filepath.Join(d.dir, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
