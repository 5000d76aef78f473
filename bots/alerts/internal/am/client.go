package am

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls Alertmanager's API v2. It is safe for concurrent use.
type Client struct {
	base string // ends in /api/v2/
	http *http.Client
}

// Timeout bounds one call: a click waits for it.
const Timeout = 5 * time.Second

// NewClient returns a client of the Alertmanager at baseURL
// (http://alertmanager:9093, with any path prefix it is served under).
func NewClient(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager URL %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/") + "/api/v2/", http: &http.Client{Timeout: Timeout}}, nil
}

// URL returns the Alertmanager's base URL, for links.
func (c *Client) URL() string { return strings.TrimSuffix(c.base, "/api/v2/") }

// Error is an answer of Alertmanager other than success.
type Error struct {
	Op     string
	Status int
	Body   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: alertmanager answered %d: %s", e.Op, e.Status, e.Body)
}

// Unavailable reports whether err means Alertmanager could not be reached or
// failed (5xx): the request may be retried later, and the user told so.
func Unavailable(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// attempts and backoff are the retries of calls that are safe to repeat
// (reads, expiring a silence) when Alertmanager is down or answers 5xx.
const (
	attempts = 3
	backoff  = 300 * time.Millisecond
)

// do sends one request and decodes a JSON answer into out. idempotent
// calls are retried on 5xx and network errors; others only when the
// connection was refused, so the request cannot have been received.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any, idempotent bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w", op, errors.Join(err, ctx.Err()))
			case <-time.After(backoff << (i - 1)):
			}
		}
		err = c.once(ctx, op, method, path, body, out)
		if err == nil || !Unavailable(err) || !(idempotent || refused(err)) {
			return err
		}
	}
	return err
}

func (c *Client) once(ctx context.Context, op, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		return &Error{Op: op, Status: resp.StatusCode, Body: strings.TrimSpace(string(b[:min(len(b), 200)]))}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s: reading the answer: %w", op, err)
		}
	}
	return nil
}

// refused reports whether err is a refused connection: nothing was sent.
func refused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// Matcher is one label matcher of a silence.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

func (m Matcher) String() string {
	op := "="
	switch {
	case m.IsRegex && m.IsEqual:
		op = "=~"
	case m.IsRegex:
		op = "!~"
	case !m.IsEqual:
		op = "!="
	}
	return m.Name + op + fmt.Sprintf("%q", m.Value)
}

// Silence is a silence as the API lists it; ID and Status are empty in one
// to create.
type Silence struct {
	ID        string    `json:"id,omitempty"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Status    *struct {
		State string `json:"state"` // active, pending, expired
	} `json:"status,omitempty"`
}

// State returns the silence's state: active, pending or expired.
func (s Silence) State() string {
	if s.Status == nil {
		return ""
	}
	return s.Status.State
}

// CreateSilence creates s and returns its ID. It is retried only when
// Alertmanager refused the connection: after a 5xx the silence may exist.
func (c *Client) CreateSilence(ctx context.Context, s Silence) (string, error) {
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.do(ctx, "creating the silence", http.MethodPost, "silences", s, &out, false); err != nil {
		return "", err
	}
	return out.SilenceID, nil
}

// Silences lists the silences Alertmanager knows, expired ones included.
func (c *Client) Silences(ctx context.Context) ([]Silence, error) {
	var out []Silence
	err := c.do(ctx, "listing silences", http.MethodGet, "silences", nil, &out, true)
	return out, err
}

// ExpireSilence ends the silence id now. Expiring twice is harmless, so it
// is retried.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	return c.do(ctx, "expiring silence "+id, http.MethodDelete, "silence/"+url.PathEscape(id), nil, nil, true)
}

// GettableAlert is an alert as the API lists it.
type GettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	Fingerprint string            `json:"fingerprint"`
	Status      struct {
		State      string   `json:"state"` // active, suppressed, unprocessed
		SilencedBy []string `json:"silencedBy"`
	} `json:"status"`
}

// Alerts lists the alerts firing and neither silenced nor inhibited.
func (c *Client) Alerts(ctx context.Context) ([]GettableAlert, error) {
	var out []GettableAlert
	err := c.do(ctx, "listing alerts", http.MethodGet, "alerts?active=true&silenced=false&inhibited=false", nil, &out, true)
	return out, err
}

// PostableAlert is an alert as a client (Prometheus, a test, a script)
// pushes it.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// PushAlerts sends alerts as Prometheus does; sending the same ones again
// is harmless, so it is retried.
func (c *Client) PushAlerts(ctx context.Context, alerts []PostableAlert) error {
	return c.do(ctx, "pushing alerts", http.MethodPost, "alerts", alerts, nil, true)
}
