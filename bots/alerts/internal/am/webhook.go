package am

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Message is a notification of Alertmanager's webhook receiver, version 4:
// the alerts of one group, firing and resolved, as the group is now.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"` // firing or resolved
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Statuses of an alert and a group.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// ParseMessage reads a notification and checks what the bot relies on.
func ParseMessage(body []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("reading the notification: %w", err)
	}
	switch {
	case m.Version != "4":
		return nil, fmt.Errorf("notification version %q: want 4", m.Version)
	case m.GroupKey == "":
		return nil, errors.New("notification without a groupKey")
	case m.Status != Firing && m.Status != Resolved:
		return nil, fmt.Errorf("notification status %q: want firing or resolved", m.Status)
	}
	for i, a := range m.Alerts {
		if a.Status != Firing && a.Status != Resolved {
			return nil, fmt.Errorf("alert %d: status %q: want firing or resolved", i, a.Status)
		}
		if a.Fingerprint == "" {
			return nil, fmt.Errorf("alert %d: no fingerprint", i)
		}
	}
	return &m, nil
}

// Hash identifies what a notification says, apart from when and by which
// Alertmanager it was sent: the two of an HA pair notify the same group with
// the same hash.
func (m *Message) Hash() string {
	type entry struct {
		F, S   string
		S0, S1 time.Time
	}
	es := make([]entry, len(m.Alerts))
	for i, a := range m.Alerts {
		es[i] = entry{F: a.Fingerprint, S: a.Status, S0: a.StartsAt.UTC()}
		if a.Status == Resolved {
			// A firing alert's endsAt moves with each resend from
			// Prometheus, which the two Alertmanagers may see apart.
			es[i].S1 = a.EndsAt.UTC()
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.F < b.F {
			return -1
		}
		if a.F > b.F {
			return 1
		}
		return 0
	})
	b, _ := json.Marshal(struct {
		K, S string
		T    int
		A    []entry
	}{m.GroupKey, m.Status, m.TruncatedAlerts, es})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
