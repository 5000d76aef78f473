package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/botfleet/botfleet/pkg/atomicfile"
)

// FirstEvent records the event id as handled and reports whether it was
// the first to: a Slack retry or a second instance given the same event
// gets false. Records older than ttl are removed as a side effect.
func (s *Store) FirstEvent(id string, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256([]byte(id))
	path := filepath.Join(s.dir, "events", hex.EncodeToString(sum[:16]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > ttl {
			// A stale record of a reused id: take it over.
			os.Remove(path)
			return s.FirstEvent(id, ttl)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording event %s: %w", id, err)
	}
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), s.instance)
	f.Close()
	return true, nil
}

// PruneEvents removes event records older than ttl.
func (s *Store) PruneEvents(ttl time.Duration) error {
	dir := filepath.Join(s.dir, "events")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > ttl {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// RequestCancel asks whichever instance runs deploy id to stop it.
func (s *Store) RequestCancel(id int64, by string) error {
	dir := s.RunDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "cancel"), []byte(by+"\n"), 0o640)
}

// CancelRequested reports whether someone asked to stop deploy id, and who.
func (s *Store) CancelRequested(id int64) (string, bool) {
	b, err := os.ReadFile(filepath.Join(s.RunDir(id), "cancel"))
	if err != nil {
		return "", false
	}
	return string(bytes.TrimSpace(b)), true
}
