package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// ecsAPI is what the bot calls of ECS.
type ecsAPI interface {
	ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(context.Context, *ecs.DeregisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceRevisions(context.Context, *ecs.DescribeServiceRevisionsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
}

// ecrAPI is what the bot calls of ECR.
type ecrAPI interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// bot holds what the handlers share. The AWS config is loaded by the first
// command that needs it.
type bot struct {
	live *botkit.Live[Config]
	aws  *awsx.Loader
	jobs *jobs.Manager
}

// clients are the AWS clients of one command: one environment, acting for
// one Slack user.
type clients struct {
	ecs ecsAPI
	ecr ecrAPI
	env *Environment
}

func (bt *bot) connect(ctx context.Context, cfg *Config, e *Environment, user string) (*clients, error) {
	ac, err := bt.aws.For(ctx, awsx.Target{Region: e.Region, RoleARN: e.RoleARN, User: user})
	if err != nil {
		// awsx says it was loading the AWS config; this says for what.
		return nil, awsError(err, "environment "+e.Name)
	}
	timeout := awsx.Timeout(cfg.CallTimeout)
	return &clients{
		ecs: ecs.NewFromConfig(ac, func(o *ecs.Options) { o.APIOptions = append(o.APIOptions, timeout) }),
		ecr: ecr.NewFromConfig(ac, func(o *ecr.Options) { o.APIOptions = append(o.APIOptions, timeout) }),
		env: e,
	}, nil
}

// target is what a command acts on: the config snapshot, the environment,
// the service (when the command names one) and the clients, and, within
// a change, its job.
type target struct {
	cfg *Config
	*clients
	svc *Service
	job *jobs.Job
}

// change runs fn as a job of kind on the target's service: one change of a
// service runs at a time, across every instance of the bot, so that two
// deploys cannot both register a task definition and update the service.
// Who asks while another change runs is told who runs what since when.
// title says what the change does, after "<@user> is ", with %s for the
// service: "rolling back %s".
func (bt *bot) change(ctx context.Context, req *botkit.Request, t *target, kind, title string, args map[string]string, fn func(context.Context) error) error {
	args["service"], args["env"] = t.svc.Name, t.env.Name
	sp := jobs.Spec{Kind: kind, Key: lockKey(t.env, t.svc), Subject: subject(t),
		Title: fmt.Sprintf(title, subject(t)), Args: args}
	return bt.jobs.Run(ctx, req, sp, func(ctx context.Context, j *jobs.Job) error {
		t.job = j
		return fn(ctx)
	})
}

// subject names the target's service for people: "`api` in dev".
func subject(t *target) string { return fmt.Sprintf("`%s` in %s", t.svc.Name, t.env.Name) }

// lockKey names a service across environments: two environments of the
// config may name one cluster.
func lockKey(e *Environment, svc *Service) string {
	return e.Region + "/" + e.Cluster + "/" + svc.Name
}

// resolve checks the environment and service a command names against the
// config before any AWS call, then connects.
func (bt *bot) resolve(ctx context.Context, req *botkit.Request, envName, service string) (*target, error) {
	cfg := bt.live.Load()
	e, err := cfg.env(envName)
	if err != nil {
		return nil, err
	}
	t := &target{cfg: cfg}
	if service != "" {
		if t.svc, err = e.service(service); err != nil {
			return nil, err
		}
	}
	if t.clients, err = bt.connect(ctx, cfg, e, req.User); err != nil {
		return nil, err
	}
	return t, nil
}

// awsError turns an AWS error into a user's line where it is one that
// awsx.Explain knows, and wraps it with what otherwise.
func awsError(err error, what string) error {
	if err == nil {
		return nil
	}
	var ue *botkit.UserError
	if errors.As(err, &ue) {
		return err
	}
	if msg, ok := awsx.Explain(err); ok {
		return &botkit.UserError{Msg: botkit.Escape(msg), Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

// setup registers the commands with the AWS loader's defaults.
func setup(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
	return setupWith(awsx.Options{})(ctx, b, live, env)
}

// setupWith returns setup with the AWS loader's options o: tests shorten
// the retry backoff.
func setupWith(o awsx.Options) func(context.Context, *botkit.Bot, *botkit.Live[Config], botkit.Env) error {
	return func(_ context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
		return setupAWS(b, live, env, o)
	}
}

func setupAWS(b *botkit.Bot, live *botkit.Live[Config], env botkit.Env, o awsx.Options) error {
	fake, err := awsx.CheckFake(env.Name, os.Getenv)
	if err != nil {
		return err
	}
	if fake {
		env.Log().Warn("AWS IS FAKE: every AWS call goes to the local fake (awsfake); nothing reaches a real AWS account",
			"aws_endpoint_url", os.Getenv("AWS_ENDPOINT_URL"))
	}
	o.Bot = b.Name()
	o.Logger = env.Log()
	bt := &bot{live: live, aws: awsx.New(o)}
	if err := bt.register(b); err != nil {
		return err
	}
	// After the bot's own commands, so that help lists them first.
	dir, err := jobs.Dir(env)
	if err != nil {
		return err
	}
	m, err := jobs.New(b, jobs.Options{Dir: dir, Log: env.Log(),
		MayCancel: func() jobs.Principals { return live.Load().Jobs.Cancel }})
	if err != nil {
		return err
	}
	bt.jobs = m
	return nil
}

func (bt *bot) register(b *botkit.Bot) error {
	// The default environment is filled in before the access check, so a
	// rule on env=prd holds even where prd is the default.
	env := botkit.Default("env", func(*botkit.Request) string { return bt.live.Load().DefaultEnv })
	b.Command("services [in {env:name}]", bt.services, env,
		botkit.Describe("List the services of an environment's cluster: tasks running/desired/pending and image tag"),
		botkit.Example("services in dev"))
	b.Command("status {service:name} [in {env:name}]", bt.status, env,
		botkit.Describe("Show a service's deployments, rollout, recent events and stopped tasks"),
		botkit.Example("status api in prd"))
	b.Command("tags {service:name} [in {env:name}]", bt.tags, env,
		botkit.Describe("List the newest image tags of a service's ECR repository and which one runs"),
		botkit.Example("tags api"))
	b.Command("deploy {service:name} {tag:plain} [to {env:name}]", bt.deploy, env,
		botkit.Describe("Deploy an image tag: a new task definition revision with only that image changed, then follow the rollout"),
		botkit.Example("deploy api v1.4.2 to dev"), botkit.Timeout(maxRolloutTimeout+2*time.Minute), botkit.Prepare(bt.prepareDeploy))
	b.Command("rollback {service:name} [in {env:name}]", bt.rollback, env,
		botkit.Describe("Redeploy the task definition of the previous successful deployment and follow the rollout"),
		botkit.Example("rollback api in prd"), botkit.Timeout(maxRolloutTimeout+2*time.Minute))
	b.Command("scale {service:name} {count:0..10000} [in {env:name}]", bt.scale, env,
		botkit.Describe("Set a service's desired task count, within the configured bounds"),
		botkit.Example("scale api 4 in dev"))
	return nil
}

// describe returns the named service, or a user error when ECS has none.
func (t *target) describe(ctx context.Context, name string) (*types.Service, error) {
	out, err := t.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &t.env.Cluster, Services: []string{name}})
	if err != nil {
		return nil, awsError(err, "describing service "+name)
	}
	if len(out.Services) == 0 {
		return nil, botkit.Userf("ECS has no service `%s` in cluster `%s` (%s).", botkit.Escape(name), t.env.Cluster, t.env.Name)
	}
	return &out.Services[0], nil
}

// taskDef returns a task definition and its tags.
func (t *target) taskDef(ctx context.Context, arn string) (*types.TaskDefinition, []types.Tag, error) {
	out, err := t.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: &arn, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		return nil, nil, awsError(err, "describing task definition "+arn)
	}
	return out.TaskDefinition, out.Tags, nil
}

// container returns the container named name, or the first when name is "".
func container(td *types.TaskDefinition, name string) *types.ContainerDefinition {
	for i := range td.ContainerDefinitions {
		if name == "" || aws.ToString(td.ContainerDefinitions[i].Name) == name {
			return &td.ContainerDefinitions[i]
		}
	}
	return nil
}

// revision is "family:revision" of a task definition ARN.
func revision(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func (bt *bot) services(ctx context.Context, req *botkit.Request) error {
	t, err := bt.resolve(ctx, req, req.Arg("env"), "")
	if err != nil {
		return err
	}
	var arns []string
	pages := ecs.NewListServicesPaginator(t.ecs, &ecs.ListServicesInput{Cluster: &t.env.Cluster, MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return awsError(err, "listing services")
		}
		arns = append(arns, out.ServiceArns...)
	}
	if len(arns) == 0 {
		_, err := req.Replyf(ctx, "Cluster `%s` (%s) has no services.", t.env.Cluster, t.env.Name)
		return err
	}
	var svcs []types.Service
	for chunk := range slices.Chunk(arns, 10) { // DescribeServices takes 10 at most
		out, err := t.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &t.env.Cluster, Services: chunk})
		if err != nil {
			return awsError(err, "describing services")
		}
		svcs = append(svcs, out.Services...)
	}
	slices.SortFunc(svcs, func(a, b types.Service) int {
		return cmp.Compare(aws.ToString(a.ServiceName), aws.ToString(b.ServiceName))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "*Services in %s* (cluster `%s`):", t.env.Name, t.env.Cluster)
	for _, s := range svcs {
		name := aws.ToString(s.ServiceName)
		managed, _ := t.env.service(name)
		cname := ""
		if managed != nil {
			cname = managed.Container
		}
		tag := "?"
		if td, tdTags, err := t.taskDef(ctx, aws.ToString(s.TaskDefinition)); err == nil {
			if c := container(td, cname); c != nil {
				tag = imageLabel(c, tdTags)
			}
		} else {
			req.Log().Warn("describing task definition", "service", name, "err", err)
		}
		fmt.Fprintf(&b, "\n• `%s` %d/%d running, %d pending · `%s`", name, s.RunningCount, s.DesiredCount, s.PendingCount, botkit.Escape(tag))
		if p := primary(&s); p != nil && p.RolloutState == types.DeploymentRolloutStateInProgress {
			b.WriteString(" · rolling out")
		}
		if managed == nil {
			b.WriteString(" · _not managed by me_")
		}
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

// primary returns the service's PRIMARY deployment.
func primary(s *types.Service) *types.Deployment {
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

func (bt *bot) status(ctx context.Context, req *botkit.Request) error {
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	s, err := t.describe(ctx, t.svc.Name)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* in %s (cluster `%s`): %d/%d running, %d pending", t.svc.Name, t.env.Name, t.env.Cluster, s.RunningCount, s.DesiredCount, s.PendingCount)
	if cb := s.DeploymentConfiguration; cb == nil || cb.DeploymentCircuitBreaker == nil || !cb.DeploymentCircuitBreaker.Rollback {
		b.WriteString("\n:warning: the deployment circuit breaker with rollback is off: a failing deploy is not rolled back by ECS.")
	}
	b.WriteString("\n*Deployments*")
	for _, d := range s.Deployments {
		tag := "?"
		if td, tdTags, err := t.taskDef(ctx, aws.ToString(d.TaskDefinition)); err == nil {
			if c := container(td, t.svc.Container); c != nil {
				tag = imageLabel(c, tdTags)
			}
		}
		fmt.Fprintf(&b, "\n• %s `%s` `%s`: %s, %d/%d running, %d pending, %d failed",
			aws.ToString(d.Status), revision(aws.ToString(d.TaskDefinition)), botkit.Escape(tag), d.RolloutState, d.RunningCount, d.DesiredCount, d.PendingCount, d.FailedTasks)
		if r := aws.ToString(d.RolloutStateReason); r != "" {
			fmt.Fprintf(&b, " (%s)", botkit.Escape(r))
		}
	}
	if n := min(t.cfg.Events, len(s.Events)); n > 0 {
		b.WriteString("\n*Recent events*")
		for _, e := range s.Events[:n] {
			fmt.Fprintf(&b, "\n• %s %s", aws.ToTime(e.CreatedAt).UTC().Format("15:04:05"), botkit.Escape(aws.ToString(e.Message)))
		}
	}
	stopped, err := t.stoppedTasks(ctx, t.svc.Name, 5)
	if err != nil {
		return err
	}
	if len(stopped) > 0 {
		b.WriteString("\n*Stopped tasks*")
		for _, line := range stopped {
			b.WriteString("\n• " + line)
		}
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

// stoppedTasks returns up to n lines about the service's recently stopped
// tasks (ECS keeps them for about an hour), newest first.
func (t *target) stoppedTasks(ctx context.Context, service string, n int) ([]string, error) {
	list, err := t.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: &t.env.Cluster, ServiceName: &service,
		DesiredStatus: types.DesiredStatusStopped, MaxResults: aws.Int32(100)})
	if err != nil {
		return nil, awsError(err, "listing stopped tasks")
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	out, err := t.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &t.env.Cluster, Tasks: list.TaskArns})
	if err != nil {
		return nil, awsError(err, "describing stopped tasks")
	}
	tasks := out.Tasks
	slices.SortFunc(tasks, func(a, b types.Task) int { return aws.ToTime(b.StoppedAt).Compare(aws.ToTime(a.StoppedAt)) })
	var lines []string
	for _, task := range tasks[:min(n, len(tasks))] {
		lines = append(lines, fmt.Sprintf("%s `%s`: %s", aws.ToTime(task.StoppedAt).UTC().Format("15:04:05"),
			revision(aws.ToString(task.TaskDefinitionArn)), botkit.Escape(cmp.Or(aws.ToString(task.StoppedReason), "no reason given"))))
	}
	return lines, nil
}

// maxImagePages bounds how much of a big repository tags reads (1000
// images): a repository with more is sorted by push time within those.
const maxImagePages = 10

func (bt *bot) tags(ctx context.Context, req *botkit.Request) error {
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	// The running image is known by its digest when a deploy pinned it,
	// else by its tag.
	var running imageRef
	if s, err := t.describe(ctx, t.svc.Name); err == nil {
		if td, _, err := t.taskDef(ctx, aws.ToString(s.TaskDefinition)); err == nil {
			if c := container(td, t.svc.Container); c != nil {
				running = parseImage(aws.ToString(c.Image))
			}
		}
	} else if _, isUser := botkit.AsUserError(err); !isUser {
		return err
	}
	var images []ecrtypes.ImageDetail
	pages := ecr.NewDescribeImagesPaginator(t.ecr, &ecr.DescribeImagesInput{RepositoryName: &t.svc.Repository,
		Filter: &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusTagged}, MaxResults: aws.Int32(100)})
	for i := 0; pages.HasMorePages() && i < maxImagePages; i++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return awsError(err, "listing images")
		}
		images = append(images, out.ImageDetails...)
	}
	slices.SortFunc(images, func(a, b ecrtypes.ImageDetail) int {
		return aws.ToTime(b.ImagePushedAt).Compare(aws.ToTime(a.ImagePushedAt))
	})
	var b strings.Builder
	fmt.Fprintf(&b, "*Newest tags of `%s`* (ECR, for %s in %s):", t.svc.Repository, t.svc.Name, t.env.Name)
	if len(images) == 0 {
		b.WriteString("\nnone")
	}
	for _, img := range images[:min(t.cfg.Tags, len(images))] {
		tags := make([]string, len(img.ImageTags))
		mark := ""
		for i, tag := range img.ImageTags {
			tags[i] = "`" + botkit.Escape(tag) + "`"
			if running.Digest == "" && tag == running.Tag {
				mark = " ← running"
			}
		}
		if running.Digest != "" && aws.ToString(img.ImageDigest) == running.Digest {
			mark = " ← running"
		}
		fmt.Fprintf(&b, "\n• %s pushed %s%s", strings.Join(tags, ", "), aws.ToTime(img.ImagePushedAt).UTC().Format("2006-01-02 15:04 UTC"), mark)
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

// validTag is Docker's rule for a tag.
var validTag = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// prepareDeploy resolves the tag a deploy names to its image's digest in
// ECR and freezes it, before any confirmation or approval: whoever confirms
// or approves sees the digest, the audit line records it, and the deploy
// registers the image by that digest, so it runs that image whatever the
// tag names by then.
func (bt *bot) prepareDeploy(ctx context.Context, req *botkit.Request) error {
	tag := req.Arg("tag")
	if !validTag.MatchString(tag) {
		return botkit.Userf("`%s` is not an image tag.", botkit.Escape(tag))
	}
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	digest, err := t.imageDigest(ctx, tag)
	if err != nil {
		return err
	}
	req.Freeze("image", t.svc.Repository+":"+tag+"@"+digest)
	return nil
}

// imageDigest returns the digest of the image tag names in the service's
// repository.
func (t *target) imageDigest(ctx context.Context, tag string) (string, error) {
	out, err := t.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: &t.svc.Repository, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: &tag}}})
	if isCode(err, "ImageNotFoundException") {
		return "", botkit.Userf("ECR repository `%s` has no tag `%s`; see `tags %s`.", t.svc.Repository, botkit.Escape(tag), t.svc.Name)
	}
	if err != nil {
		return "", awsError(err, "checking the image tag")
	}
	digest := ""
	if len(out.ImageDetails) == 1 {
		digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	}
	if !validDigest.MatchString(digest) {
		return "", fmt.Errorf("checking the image tag %s: ECR answered %d images, digest %q", tag, len(out.ImageDetails), digest)
	}
	return digest, nil
}

// imageTags returns the tags the image digest names in the service's
// repository has now, or a user error when ECR no longer has it.
func (t *target) imageTags(ctx context.Context, digest string) ([]string, error) {
	out, err := t.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: &t.svc.Repository, ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: &digest}}})
	if isCode(err, "ImageNotFoundException") {
		return nil, botkit.Userf("Not deployed: image `%s` of `%s`, the one resolved when you asked (and shown to whoever confirmed or approved it), is no longer in ECR. Nothing changed.",
			digest, t.svc.Repository)
	}
	if err != nil {
		return nil, awsError(err, "checking the image")
	}
	if len(out.ImageDetails) != 1 {
		return nil, fmt.Errorf("checking the image %s: ECR answered %d images", digest, len(out.ImageDetails))
	}
	return out.ImageDetails[0].ImageTags, nil
}

func (bt *bot) deploy(ctx context.Context, req *botkit.Request) error {
	tag := req.Arg("tag")
	_, digest, ok := strings.Cut(req.Frozen("image"), "@")
	if !ok || !validDigest.MatchString(digest) {
		return fmt.Errorf("deploy: no image digest was frozen (%q)", req.Frozen("image")) // prepareDeploy always freezes one
	}
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	return bt.change(ctx, req, t, "deploy", "deploying `"+tag+"` to %s", map[string]string{"tag": tag, "digest": digest},
		func(ctx context.Context) error { return t.deploy(ctx, req, tag, digest) })
}

// deploy registers a revision of the service's task definition whose
// container runs the image digest names, which the request froze when it
// resolved tag, and follows its rollout: it runs exactly what was asked
// and approved, even if tag names another image by now. The revision keeps
// tag, for people, in a task definition tag (imageTagKey).
func (t *target) deploy(ctx context.Context, req *botkit.Request, tag, digest string) error {
	tagsNow, err := t.imageTags(ctx, digest)
	if err != nil {
		return err
	}
	s, err := t.idle(ctx)
	if err != nil {
		return err
	}
	td, tdTags, err := t.taskDef(ctx, aws.ToString(s.TaskDefinition))
	if err != nil {
		return err
	}
	c := container(td, t.svc.Container)
	if c == nil {
		return botkit.Userf("Task definition `%s` has no container `%s`; check the config of %s.", revision(aws.ToString(td.TaskDefinitionArn)), t.svc.Container, t.svc.Name)
	}
	cur := parseImage(aws.ToString(c.Image))
	if cur.Repo != t.svc.Repository && !strings.HasSuffix(cur.Repo, "/"+t.svc.Repository) {
		return botkit.Userf("Container `%s` runs `%s`, which is not from ECR repository `%s`; check the config of %s.", t.svc.Container, botkit.Escape(aws.ToString(c.Image)), t.svc.Repository, t.svc.Name)
	}
	was := imageLabel(c, tdTags)
	if cur.Digest == digest {
		return botkit.Userf("`%s` in %s already runs `%s` (`%s`, `%s`).", t.svc.Name, t.env.Name, botkit.Escape(tag), shortDigest(digest), revision(aws.ToString(td.TaskDefinitionArn)))
	}
	moved := !slices.Contains(tagsNow, tag)
	if moved {
		req.Log().Info("the tag names another image by now; deploying the one resolved when asked", "tag", tag, "digest", digest)
	}
	c.Image = aws.String(cur.Repo + "@" + digest)
	reg, err := t.ecs.RegisterTaskDefinition(ctx, registerInput(td, withTag(tdTags, imageTagKey(aws.ToString(c.Name)), tag+"@"+digest)))
	if err != nil {
		return awsError(err, "registering the task definition")
	}
	newTD := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	req.Log().Info("registered task definition", "task_definition", newTD, "image", aws.ToString(c.Image), "tag", tag)
	id, err := t.updateRegistered(ctx, req, newTD)
	if err != nil {
		return err
	}
	headline := fmt.Sprintf("Deploying `%s` `%s` (`%s`) to %s (`%s`, was `%s`)", t.svc.Name, botkit.Escape(tag), shortDigest(digest), t.env.Name, revision(newTD), botkit.Escape(was))
	if moved {
		headline += fmt.Sprintf(" — `%s` names another image by now; this is the one resolved when you asked", botkit.Escape(tag))
	}
	return t.follow(ctx, req, id, newTD, headline)
}

// idle describes the service and refuses when a rollout is under way: a
// second deploy would cancel the first half way.
func (t *target) idle(ctx context.Context) (*types.Service, error) {
	s, err := t.describe(ctx, t.svc.Name)
	if err != nil {
		return nil, err
	}
	for _, d := range s.Deployments {
		if d.RolloutState == types.DeploymentRolloutStateInProgress {
			return nil, botkit.Userf("`%s` in %s is rolling out already (`%s`); wait for it, see `status %s`.", t.svc.Name, t.env.Name, revision(aws.ToString(d.TaskDefinition)), t.svc.Name)
		}
	}
	return s, nil
}

// registerInput copies td into a registration of a new revision: every
// field a task definition is registered with, nothing ECS sets itself.
func registerInput(td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    td.ContainerDefinitions,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		EnableFaultInjection:    td.EnableFaultInjection,
		EphemeralStorage:        td.EphemeralStorage,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		InferenceAccelerators:   td.InferenceAccelerators,
		IpcMode:                 td.IpcMode,
		NetworkMode:             td.NetworkMode,
		PidMode:                 td.PidMode,
		PlacementConstraints:    td.PlacementConstraints,
		ProxyConfiguration:      td.ProxyConfiguration,
		RequiresCompatibilities: td.RequiresCompatibilities,
		RuntimePlatform:         td.RuntimePlatform,
		TaskRoleArn:             td.TaskRoleArn,
		Volumes:                 td.Volumes,
		Tags:                    tags,
	}
}

func (bt *bot) rollback(ctx context.Context, req *botkit.Request) error {
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	return bt.change(ctx, req, t, "rollback", "rolling back %s", map[string]string{},
		func(ctx context.Context) error { return t.rollback(ctx, req) })
}

// rollback redeploys the previous good task definition and follows it.
func (t *target) rollback(ctx context.Context, req *botkit.Request) error {
	s, err := t.idle(ctx)
	if err != nil {
		return err
	}
	current := aws.ToString(s.TaskDefinition)
	prev, err := t.previousGood(ctx, current)
	if err != nil {
		return err
	}
	if prev == "" {
		return botkit.Userf("I found no earlier successful deployment of `%s` in %s with another task definition than `%s`.", t.svc.Name, t.env.Name, revision(current))
	}
	id, err := t.update(ctx, prev)
	if err != nil {
		return awsError(err, "updating service "+t.svc.Name)
	}
	headline := fmt.Sprintf("Rolling back `%s` in %s to `%s` (from `%s`)", t.svc.Name, t.env.Name, revision(prev), revision(current))
	return t.follow(ctx, req, id, prev, headline)
}

// previousGood returns the task definition of the newest successful
// deployment that ran another task definition than current: the one before
// the running one, whatever revisions were registered in between without
// being deployed. "" when there is none.
func (t *target) previousGood(ctx context.Context, current string) (string, error) {
	var deps []types.ServiceDeploymentBrief
	in := &ecs.ListServiceDeploymentsInput{Cluster: &t.env.Cluster, Service: &t.svc.Name,
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}, MaxResults: aws.Int32(20)}
	for range 5 { // the newest 100 are plenty
		out, err := t.ecs.ListServiceDeployments(ctx, in)
		if err != nil {
			return "", awsError(err, "listing service deployments")
		}
		deps = append(deps, out.ServiceDeployments...)
		if in.NextToken = out.NextToken; in.NextToken == nil {
			break
		}
	}
	slices.SortStableFunc(deps, func(a, b types.ServiceDeploymentBrief) int {
		return aws.ToTime(b.CreatedAt).Compare(aws.ToTime(a.CreatedAt))
	})
	for chunk := range slices.Chunk(deps, 20) { // DescribeServiceRevisions takes 20 at most
		var arns []string
		for _, d := range chunk {
			arns = append(arns, aws.ToString(d.TargetServiceRevisionArn))
		}
		out, err := t.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns})
		if err != nil {
			return "", awsError(err, "describing service revisions")
		}
		byARN := map[string]string{}
		for _, r := range out.ServiceRevisions {
			byARN[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
		}
		for _, a := range arns {
			if td := byARN[a]; td != "" && td != current {
				return td, nil
			}
		}
	}
	return "", nil
}

func (bt *bot) scale(ctx context.Context, req *botkit.Request) error {
	count := req.Int("count", 0)
	t, err := bt.resolve(ctx, req, req.Arg("env"), req.Arg("service"))
	if err != nil {
		return err
	}
	if lo, hi := t.svc.minCount(), t.svc.maxCount(); count < lo || count > hi {
		return botkit.Userf("`%s` in %s scales from %d to %d tasks, not %d.", t.svc.Name, t.env.Name, lo, hi, count)
	}
	return bt.change(ctx, req, t, "scale", "scaling %s to "+strconv.Itoa(count)+" tasks", map[string]string{"count": strconv.Itoa(count)},
		func(ctx context.Context) error { return t.scale(ctx, req, count) })
}

// scale sets the service's desired count.
func (t *target) scale(ctx context.Context, req *botkit.Request, count int) error {
	s, err := t.describe(ctx, t.svc.Name)
	if err != nil {
		return err
	}
	if int(s.DesiredCount) == count {
		return botkit.Userf("`%s` in %s runs %d tasks already.", t.svc.Name, t.env.Name, count)
	}
	_, err = t.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &t.env.Cluster, Service: &t.svc.Name, DesiredCount: aws.Int32(int32(count))})
	if err != nil {
		return awsError(err, "scaling "+t.svc.Name)
	}
	_, err = req.Replyf(ctx, "Scaled `%s` in %s from %d to %d tasks.", t.svc.Name, t.env.Name, s.DesiredCount, count)
	return err
}
