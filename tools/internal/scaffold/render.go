// Package scaffold creates a new bot, bots/<name>, from templates: its Go
// module (main.go, its command file, tests), config, README, Dockerfile,
// Kustomize base and overlays, example Secrets and one Slack app manifest
// per environment, and adds it to go.work.
//
// The templates are files in an embed.FS (templates/bot mirrors the output
// tree; NAME and ENV in a path are replaced by the bot's and each
// environment's name), rendered with text/template and missingkey=error; Go
// output goes through go/format. Values that differ between repos (module
// path, registry, namespaces, role ARNs) come from botfleet.yaml.
//
// bots/hello is the templates' reference output: a test regenerates it and
// fails on any difference other than the overlays' image tags.
package scaffold

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

//go:embed templates
var templates embed.FS

const (
	botTemplates = "templates/bot"
	// Placeholders in template paths.
	nameToken = "NAME"
	envToken  = "ENV"
	// slashMax is how much of a bot's name its slash command takes:
	// botkit takes 23 characters after the /.
	slashMax = 23
	// placeholderTag is a new overlay's image tag until the release
	// pipeline sets a real one.
	placeholderTag = "0000000"
)

// Data is what the templates see.
type Data struct {
	Name      string // the bot's name, e.g. "hello"
	Module    string // its module path
	PkgModule string // the shared framework's module path
	GoVersion string // the go directive of the pkg module
	Image     string // the ECR repository, without a tag
	Slash     string // its slash command, /<name> cut to botkit's limit
	Envs      []Env  // in deploy order
	Env       Env    // the environment of a per-environment file (ENV in its path)
	// Role: the bot has an iam.yaml, so its overlays annotate its
	// ServiceAccount with its role (awsplatform.ServiceAccountPatch).
	Role bool
}

// Env is one environment as the templates see it.
type Env struct {
	Name       string // "dev"
	Namespace  string
	RoleARN    string // the bot's IRSA role there, from aws.roleARN
	ConfigFile string // the bot's config file on EFS, in the pod
	AppName    string // the Slack app's name, within Slack's limit
	Region     string // the AWS region of its secret
	Secret     string // its secret in AWS Secrets Manager
	SecretRole string // the IRSA role of the environment's SecretStores
}

// NewData returns the template data of bot name in a repo with settings s,
// whose pkg module declares goVersion.
func NewData(name string, s *settings.Settings, goVersion string) Data {
	d := Data{
		Name:      name,
		Module:    s.Git.ModulePrefix + "/bots/" + name,
		PkgModule: s.Git.ModulePrefix + "/pkg",
		GoVersion: goVersion,
		Image:     s.ImageRepo(name),
		Slash:     "/" + strings.TrimRight(name[:min(len(name), slashMax)], "-"),
	}
	envs := slices.Clone(settings.Envs)
	for _, e := range s.EnvNames() {
		if !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	for _, e := range envs {
		ns, ok := s.Namespace(e)
		if !ok {
			continue
		}
		d.Envs = append(d.Envs, Env{
			Name:       e,
			Namespace:  ns,
			RoleARN:    s.RoleARN(name, e),
			ConfigFile: "/efs/config/" + name + "/" + e + ".yaml",
			AppName:    slack.AppName(name, e),
			Region:     s.AWS.Region,
			Secret:     secretstore.Name(name, e),
			SecretRole: secretstore.RoleARN(s.AWS.AccountID, e),
		})
	}
	return d
}

// File is one rendered file.
type File struct {
	Path string // relative to the bot's directory, slash-separated
	Data []byte
}

// Render renders the bot templates with d and returns the files in path
// order. Its go.mod names only the pkg module; go.sum is left to `go mod
// tidy`.
func Render(d Data) ([]File, error) {
	base, err := template.New("").Option("missingkey=error").ParseFS(templates, "templates/steps.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing templates: %w", err)
	}
	var files []File
	err = fs.WalkDir(templates, botTemplates, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, ok := strings.CutSuffix(strings.TrimPrefix(p, botTemplates+"/"), ".tmpl")
		if !ok {
			return fmt.Errorf("template %s: name does not end in .tmpl", p)
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if t, err = t.New(rel).Parse(string(src)); err != nil {
			return fmt.Errorf("parsing template %s: %w", p, err)
		}
		envs := []Env{{}}
		if strings.Contains(rel, envToken) {
			envs = d.Envs
		}
		for _, e := range envs {
			dd := d
			dd.Env = e
			out := strings.ReplaceAll(strings.ReplaceAll(rel, envToken, e.Name), nameToken, d.Name)
			var buf bytes.Buffer
			if err := t.ExecuteTemplate(&buf, rel, dd); err != nil {
				return fmt.Errorf("rendering %s: %w", out, err)
			}
			data := buf.Bytes()
			if path.Ext(out) == ".go" {
				if data, err = format.Source(data); err != nil {
					return fmt.Errorf("formatting %s: %w", out, err)
				}
			}
			files = append(files, File{Path: out, Data: data})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Each overlay's ServiceAccount patch is the one `botctl init` writes.
	for _, e := range d.Envs {
		var role string
		if d.Role {
			role = e.RoleARN
		}
		p := strings.TrimPrefix(awsplatform.ServiceAccountPatchPath(d.Name, e.Name), BotsDir+"/"+d.Name+"/")
		files = append(files, File{Path: p, Data: awsplatform.ServiceAccountPatch(d.Name, e.Name, role)})
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// NextSteps returns what to do after creating the bot: run it, write its
// commands, and the one-time steps before its first deploy. Its README
// carries the same text.
func NextSteps(d Data) (string, error) {
	t, err := template.New("").Option("missingkey=error").ParseFS(templates, "templates/steps.tmpl")
	if err != nil {
		return "", fmt.Errorf("parsing templates: %w", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "steps", d); err != nil {
		return "", fmt.Errorf("rendering next steps: %w", err)
	}
	return buf.String() + "\n", nil
}

// newTagLine is the image tag line of an overlay the templates write.
var newTagLine = regexp.MustCompile(`(?m)^(\s*newTag:\s*).*$`)

// overlayFile reports whether p (relative to the bot's directory) is an
// overlay's kustomization, whose image tag releases change.
func overlayFile(p string) bool {
	dir, file := path.Split(p)
	return file == "kustomization.yaml" && path.Dir(path.Clean(dir)) == "manifests/envs"
}
