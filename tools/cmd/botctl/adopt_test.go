package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/golden"
)

// The code a team adds to a new bot so that it calls AWS, the way bots/ecs
// does: an SDK client behind a narrow interface, made from the config the
// pod's IRSA role gives (pkg/awsx), on the first call.
const (
	imagesGo = `package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// ecrAPI is what x calls of ECR.
type ecrAPI interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// images registers "images {repo}": the tags of an ECR repository.
func images(b *botkit.Bot, client func(context.Context) (ecrAPI, error)) {
	b.Command("images {repo}", func(ctx context.Context, req *botkit.Request) error {
		c, err := client(ctx)
		if err != nil {
			return err
		}
		repo := req.Arg("repo")
		out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: &repo})
		if err != nil {
			return fmt.Errorf("listing the images of %s: %w", repo, err)
		}
		var tags []string
		for _, d := range out.ImageDetails {
			tags = append(tags, d.ImageTags...)
		}
		_, err = req.Reply(ctx, botkit.Escape(strings.Join(tags, ", ")))
		return err
	}, botkit.Describe("List the tags of an ECR repository"))
}

// ecrClient makes the ECR client from the AWS config, loaded at the first call.
func ecrClient(aws *awsx.Loader) func(context.Context) (ecrAPI, error) {
	return func(ctx context.Context) (ecrAPI, error) {
		cfg, err := aws.Config(ctx)
		if err != nil {
			return nil, err
		}
		return ecr.NewFromConfig(cfg), nil
	}
}
`
	imagesTestGo = `package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

type fakeECR struct{ repo string }

func (f *fakeECR) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	f.repo = *in.RepositoryName
	return &ecr.DescribeImagesOutput{ImageDetails: []types.ImageDetail{{ImageTags: []string{"v1", "v2"}}}}, nil
}

// The fake satisfies the narrow interface the command calls through.
func TestECRAPI(t *testing.T) {
	repo := "web"
	var api ecrAPI = &fakeECR{}
	out, err := api.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: &repo})
	if err != nil || len(out.ImageDetails[0].ImageTags) != 2 {
		t.Fatalf("%v %v", out, err)
	}
}
`
	iamYAML = `# x's IAM declaration: the actions its AWS calls need (botctl validate
# checks them against the code).
actions:
  - ecr:DescribeImages
`
)

// TestAdoptAndAddAWSBot is issue 19's "Shown": from a fresh clone, a team
// edits botfleet.yaml (every setting it changes), runs `botctl init`,
// `botctl new x`, gives x a command that calls AWS and its iam.yaml, runs
// `botctl init` again; x's tests pass offline, validate finds no
// problems, every generated file carries the new settings, and git shows
// exactly the files the team reviews (testdata/adopt.golden).
func TestAdoptAndAddAWSBot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the new bot's tests")
	}
	root, git := gitRepo(t, "bots")
	cfg := filepath.Join(root, "botfleet.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(adopted.Replace(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, append([]string{"--repo", root}, args...)...)
		if code != exitOK {
			t.Fatalf("botctl %s: exit %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	mustRun("init")
	mustRun("new", "x")

	// The AWS command, as a user adds it: a file of its own, one line in
	// setup, the SDK module at the version the repo already uses (its
	// go.sum lines are the repo's: offline, nothing else could give them),
	// then the help golden refreshed as the bot's README says.
	bot := filepath.Join(root, "bots", "x")
	writeFile(t, filepath.Join(bot, "images.go"), imagesGo)
	writeFile(t, filepath.Join(bot, "images_test.go"), imagesTestGo)
	if err := edit(root, "bots/x/x.go", "\tinteractions(b, env)\n", "\tinteractions(b, env)\n\timages(b, ecrClient(awsx.New(awsx.Options{})))\n"); err != nil {
		t.Fatal(err)
	}
	if err := edit(root, "bots/x/x.go", "\t\"github.com/botfleet/botfleet/pkg/botkit\"\n", "\t\"github.com/botfleet/botfleet/pkg/awsx\"\n\t\"github.com/botfleet/botfleet/pkg/botkit\"\n"); err != nil {
		t.Fatal(err)
	}
	ecsSum, err := os.ReadFile(filepath.Join(repoDir, "bots", "ecs", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(bot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bot, "go.sum"), string(sum)+string(ecsSum))
	goOffline(t, bot, "get", "github.com/aws/aws-sdk-go-v2/service/ecr@"+requiredVersion(t, "bots/ecs/go.mod", "github.com/aws/aws-sdk-go-v2/service/ecr"))
	goOffline(t, bot, "mod", "tidy")
	goOffline(t, bot, "test", "-count=1", "-run", "TestHelpGolden", "-update")
	writeFile(t, filepath.Join(bot, "iam.yaml"), iamYAML)
	mustRun("init")

	goOffline(t, bot, "test", "-count=1", "./...")
	if out := mustRun("validate"); !strings.Contains(out, "no problems") {
		t.Fatalf("validate:\n%s", out)
	}

	// Everything in place, with the new settings' values.
	const account, region = "210987654321", "us-east-2"
	for _, c := range []struct{ file, want string }{
		{"bots/x/iam.yaml", "ecr:DescribeImages"},
		{"bots/x/manifests/envs/dev/config.yaml", "greeting:"},
		{"bots/x/manifests/envs/prd/config.yaml", "greeting:"},
		{"bots/x/manifests/envs/dev/external-secret.yaml", "eks.amazonaws.com/role-arn: arn:aws:iam::" + account + ":role/botfleet-external-secrets-dev\n"},
		{"bots/x/manifests/envs/prd/external-secret.yaml", "region: " + region + "\n"},
		{"bots/x/manifests/envs/prd/kustomization.yaml", "namespace: bots-prd\n"},
		{"bots/x/manifests/envs/dev/serviceaccount-patch.yaml", "eks.amazonaws.com/role-arn: arn:aws:iam::" + account + ":role/botfleet-x-dev\n"},
		{"bots/x/manifests/envs/prd/serviceaccount-patch.yaml", "eks.amazonaws.com/role-arn: arn:aws:iam::" + account + ":role/botfleet-x-prd\n"},
		{"bots/x/manifests/envs/prd/kustomization.yaml", "newName: " + account + ".dkr.ecr." + region + ".amazonaws.com/botfleet/x\n"},
		{"manifests/platform/aws/x.yaml", "kind: Repository"},
		{"manifests/platform/aws/x.yaml", "name: botfleet-x-prd\n"},
		{"manifests/platform/aws/x.yaml", "arn:aws:iam::" + account + ":policy/acme-bot-boundary"},
		{"manifests/platform/aws/x.yaml", "oidc.eks.us-east-2.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210:sub"},
		{"manifests/platform/aws/x.yaml", "system:serviceaccount:bots-dev:x"},
		{"manifests/platform/aws/x.yaml", `"ecr:DescribeImages"`},
		{"manifests/platform/aws/x.yaml", `"Federated": "arn:aws:iam::` + account + `:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210"`},
		{"bots/x/slack-app.dev.yaml", "display_name:"},
		{"bots/x/slack-app.prd.yaml", "display_name:"},
		{"manifests/argocd/root.yaml", "repoURL: https://github.com/acme/slack-bots.git\n"},
		{"manifests/efs/prd.yaml", "volumeHandle: fs-0a1b2c3d4e5f60718::fsap-0bbbbbbbbbbbbbbb2\n"},
	} {
		data, err := os.ReadFile(filepath.Join(root, c.file))
		if err != nil || !strings.Contains(string(data), c.want) {
			t.Errorf("%s lacks %q (%v):\n%s", c.file, c.want, err, data)
		}
	}

	// What the pull request holds: exactly these files, no build output,
	// no .local, nothing unreviewable.
	status := git("status", "--porcelain", "--untracked-files=all")
	var files []string
	for _, l := range strings.Split(status, "\n") {
		files = append(files, strings.TrimSpace(l))
	}
	slices.Sort(files)
	golden.Check(t, "testdata/adopt.golden", strings.Join(files, "\n")+"\n")
	for _, f := range files {
		if strings.Contains(f, ".local") || strings.HasSuffix(f, ".test") || strings.HasSuffix(f, "/x") {
			t.Errorf("git status shows %s, which no one reviews", f)
		}
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requiredVersion returns the version of module that the go.mod at rel (in
// the real repo) requires.
func requiredVersion(t *testing.T, rel, module string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s requires no %s", rel, module)
	}
	return string(m[1])
}
