// Package smfake is a wire-level fake of the part of AWS Secrets Manager
// botctl calls (CreateSecret, PutSecretValue, GetSecretValue,
// DescribeSecret, TagResource), built on awsfake: the real aws-sdk-go-v2
// client talks to it over loopback through AWS_ENDPOINT_URL. It keeps each
// secret's versions, as Secrets Manager does, so a test sees what a put
// wrote and what it left alone.
package smfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
)

// Target is the X-Amz-Target prefix of Secrets Manager's JSON 1.1 API.
const Target = "secretsmanager."

// Fake is Secrets Manager's state behind an awsfake.Server. It is safe for
// concurrent use.
type Fake struct {
	*awsfake.Server

	mu      sync.Mutex
	secrets map[string]*secret // by name
}

type secret struct {
	ARN, Name string
	Versions  []string // SecretString of each version, AWSCURRENT last
	Tags      map[string]string
	tokens    map[string]bool // ClientRequestTokens seen: a retried put makes no new version
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{Server: awsfake.New(t), secrets: map[string]*secret{}}
	f.Handle(Target+"CreateSecret", f.create)
	f.Handle(Target+"PutSecretValue", f.put)
	f.Handle(Target+"GetSecretValue", f.get)
	f.Handle(Target+"DescribeSecret", f.describe)
	f.Handle(Target+"TagResource", f.tag)
	return f
}

// Versions returns the SecretString of each version of the secret name,
// oldest first; nil if there is no such secret.
func (f *Fake) Versions(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.secrets[name]; ok {
		return slices.Clone(s.Versions)
	}
	return nil
}

// Tags returns the tags of the secret name.
func (f *Fake) Tags(name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.secrets[name]; ok {
		return maps.Clone(s.Tags)
	}
	return nil
}

type tag struct{ Key, Value string }

// lookup finds a secret by name or ARN (SecretId takes either).
func (f *Fake) lookup(id string) (*secret, error) {
	if s, ok := f.secrets[id]; ok {
		return s, nil
	}
	for _, s := range f.secrets {
		if s.ARN == id {
			return s, nil
		}
	}
	return nil, awsfake.Errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return awsfake.Errf("SerializationException", "%v", err)
	}
	return nil
}

// addVersion adds value as the current version unless token was seen.
func (s *secret) addVersion(token, value string) {
	if token != "" && s.tokens[token] {
		return
	}
	if token != "" {
		s.tokens[token] = true
	}
	s.Versions = append(s.Versions, value)
}

func versionID(s *secret) string { return fmt.Sprintf("v%d-%s", len(s.Versions), s.Name) }

func (f *Fake) create(body []byte) (any, error) {
	var in struct {
		Name, SecretString, ClientRequestToken string
		Tags                                   []tag
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Name == "" {
		return nil, awsfake.Errf("InvalidParameterException", "Name is required")
	}
	if _, ok := f.secrets[in.Name]; ok {
		return nil, awsfake.Errf("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	// Secrets Manager appends a hyphen and six random characters to the
	// ARN, which is why IAM policies name secrets with a -?????? suffix.
	suffix := rand.Text()[:6]
	s := &secret{ARN: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", awsfake.Region, awsfake.Account, in.Name, suffix),
		Name: in.Name, Tags: map[string]string{}, tokens: map[string]bool{}}
	for _, t := range in.Tags {
		s.Tags[t.Key] = t.Value
	}
	if in.SecretString != "" {
		s.addVersion(in.ClientRequestToken, in.SecretString)
	}
	f.secrets[in.Name] = s
	return map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": versionID(s)}, nil
}

func (f *Fake) put(body []byte) (any, error) {
	var in struct{ SecretId, SecretString, ClientRequestToken string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(in.SecretId)
	if err != nil {
		return nil, err
	}
	if in.SecretString == "" {
		return nil, awsfake.Errf("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
	}
	s.addVersion(in.ClientRequestToken, in.SecretString)
	return map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": versionID(s), "VersionStages": []string{"AWSCURRENT"}}, nil
}

func (f *Fake) get(body []byte) (any, error) {
	var in struct{ SecretId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(in.SecretId)
	if err != nil {
		return nil, err
	}
	if len(s.Versions) == 0 {
		return nil, awsfake.Errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	}
	return map[string]any{"ARN": s.ARN, "Name": s.Name, "SecretString": s.Versions[len(s.Versions)-1],
		"VersionId": versionID(s), "VersionStages": []string{"AWSCURRENT"}}, nil
}

func (f *Fake) describe(body []byte) (any, error) {
	var in struct{ SecretId string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(in.SecretId)
	if err != nil {
		return nil, err
	}
	tags := []tag{}
	for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
		tags = append(tags, tag{k, s.Tags[k]})
	}
	return map[string]any{"ARN": s.ARN, "Name": s.Name, "Tags": tags}, nil
}

func (f *Fake) tag(body []byte) (any, error) {
	var in struct {
		SecretId string
		Tags     []tag
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(in.SecretId)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		s.Tags[t.Key] = t.Value
	}
	return map[string]any{}, nil
}
