// Package ecsfake is a wire-level fake of the parts of ECS and ECR the ecs
// bot calls, built on awsfake: the real aws-sdk-go-v2 clients talk to it
// over loopback. Tests start it with New; internal/cmd/fakeaws serves it by
// hand for `make run BOT=ecs`. It keeps state: services, task definitions
// with revisions (ACTIVE, or INACTIVE once deregistered), deployments that progress each time the service is described
// (IN_PROGRESS, then COMPLETED, or FAILED and rolled back by the deployment
// circuit breaker), the service deployment history, stopped tasks, service
// events and ECR images.
package ecsfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
)

// X-Amz-Target prefixes of the two APIs.
const (
	ECS = "AmazonEC2ContainerServiceV20141113."
	ECR = "AmazonEC2ContainerRegistry_V20150921."
)

// failuresToTrip is how many failed tasks trip the fake's circuit breaker
// (ECS uses at least 10; a test does not need so many).
const failuresToTrip = 2

// Fake is the ECS and ECR state behind an awsfake.Server. It is safe for
// concurrent use.
type Fake struct {
	*awsfake.Server

	mu       sync.Mutex
	now      time.Time
	seq      int
	pushes   int                      // images pushed, for their digests
	services map[string]*service      // by cluster/name
	taskDefs map[string][]taskDef     // by family; revision i+1 at i
	tdTags   map[string]any           // a task definition's tags, by ARN
	images   map[string][]image       // by repository
	broken   map[string]bool          // images whose tasks fail to start
	stalled  map[string]bool          // images whose tasks stay pending
	history  []serviceDeployment      // newest last
	revs     map[string]string        // service revision ARN -> task definition ARN
	stopped  map[string][]stoppedTask // by cluster/service
}

type taskDef = map[string]any

type service struct {
	Name, Cluster string
	Deployments   []*deployment // PRIMARY first
	Events        []event       // newest first
	Breaker       bool
	history       string // ARN of the service deployment under way or last
}

type deployment struct {
	ID, Status, TaskDef, Rollout, Reason string
	Desired, Running, Pending, Failed    int
	Created, Updated                     time.Time
	rollbackTo                           string // set on a failing deployment whose rollback is running
	revision                             string
}

type event struct {
	ID, Message string
	At          time.Time
}

type image struct {
	Tag    string // "" once another push took it: untagged
	Digest string
	Pushed time.Time
}

type serviceDeployment struct {
	ARN, Service, Cluster, Status, Revision string
	Created, Finished                       time.Time
}

type stoppedTask struct {
	ARN, TaskDef, Reason string
	At                   time.Time
}

// New starts the fake on loopback, closed when the test ends.
func New(t testing.TB) *Fake { return newFake(awsfake.New(t)) }

// Start starts the fake on addr, a loopback address (see awsfake.Start);
// Close stops it.
func Start(addr string) (*Fake, error) {
	srv, err := awsfake.Start(addr)
	if err != nil {
		return nil, err
	}
	return newFake(srv), nil
}

func newFake(srv *awsfake.Server) *Fake {
	f := &Fake{
		Server: srv, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		services: map[string]*service{}, taskDefs: map[string][]taskDef{}, tdTags: map[string]any{}, images: map[string][]image{},
		broken: map[string]bool{}, stalled: map[string]bool{}, revs: map[string]string{}, stopped: map[string][]stoppedTask{},
	}
	for op, h := range map[string]func([]byte) (any, error){
		ECS + "ListServices":             f.listServices,
		ECS + "DescribeServices":         f.describeServices,
		ECS + "DescribeTaskDefinition":   f.describeTaskDefinition,
		ECS + "RegisterTaskDefinition":   f.registerTaskDefinition,
		ECS + "DeregisterTaskDefinition": f.deregisterTaskDefinition,
		ECS + "UpdateService":            f.updateService,
		ECS + "ListTasks":                f.listTasks,
		ECS + "DescribeTasks":            f.describeTasks,
		ECS + "ListServiceDeployments":   f.listServiceDeployments,
		ECS + "DescribeServiceRevisions": f.describeServiceRevisions,
		ECR + "DescribeImages":           f.describeImages,
	} {
		f.Handle(op, h)
	}
	return f
}

func arn(kind, name string) string {
	return "arn:aws:ecs:" + awsfake.Region + ":" + awsfake.Account + ":" + kind + "/" + name
}

// Registry is the ECR registry the fake's images live in.
const Registry = awsfake.Account + ".dkr.ecr." + awsfake.Region + ".amazonaws.com"

// tick advances the fake's clock by a second and returns it.
func (f *Fake) tick() time.Time {
	f.now = f.now.Add(time.Second)
	return f.now
}

// Register registers a task definition revision in family whose one
// container, name, runs image, and returns its ARN. extra fields are kept
// as given (and must come back unchanged in a new revision). It is tagged
// team=platform.
func (f *Fake) Register(family, container, img string, extra map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := map[string]any{"name": container, "image": img, "essential": true}
	maps.Copy(c, extra)
	return f.register([]any{map[string]any{"key": "team", "value": "platform"}}, taskDef{
		"family": family, "containerDefinitions": []any{c},
		"taskRoleArn": "arn:aws:iam::" + awsfake.Account + ":role/" + family + "-task", "executionRoleArn": "arn:aws:iam::" + awsfake.Account + ":role/" + family + "-exec",
		"networkMode": "awsvpc", "requiresCompatibilities": []any{"FARGATE"}, "cpu": "256", "memory": "512",
	})
}

func (f *Fake) register(tags any, td taskDef) string {
	family := td["family"].(string)
	rev := len(f.taskDefs[family]) + 1
	td = maps.Clone(td)
	td["revision"] = rev
	td["taskDefinitionArn"] = arn("task-definition", family+":"+strconv.Itoa(rev))
	td["status"] = "ACTIVE"
	td["registeredAt"] = float64(f.tick().Unix())
	f.taskDefs[family] = append(f.taskDefs[family], td)
	a := td["taskDefinitionArn"].(string)
	if tags != nil {
		f.tdTags[a] = tags
	}
	return a
}

// AddService creates a service running desired tasks of taskDef, deployed
// and steady, with the deployment circuit breaker (and rollback) on.
func (f *Fake) AddService(cluster, name, taskDef string, desired int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &service{Name: name, Cluster: cluster, Breaker: true}
	f.services[cluster+"/"+name] = s
	d := f.newDeployment(s, taskDef, desired)
	d.Running, d.Pending, d.Rollout, d.Reason = desired, 0, "COMPLETED", "ECS deployment "+d.ID+" completed."
	f.finish(s, "SUCCESSFUL")
	s.event(f.tick(), "(service %s) has reached a steady state.", name)
}

// Break makes tasks running img fail to start. img is a reference as a
// task definition holds it; when it names an image of the fake's registry
// by tag, the image is broken by its digest too (img@digest), as a deploy
// registers it.
func (f *Fake) Break(img string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ref := range f.refs(img) {
		f.broken[ref] = true
	}
}

// Stall keeps the tasks of img pending, and so the rollouts to it in
// progress, until release is called: a test sees a deploy mid-rollout for
// as long as it needs, not for one poll. img is read as Break reads it.
func (f *Fake) Stall(img string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	refs := f.refs(img)
	for _, ref := range refs {
		f.stalled[ref] = true
	}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ref := range refs {
			delete(f.stalled, ref)
		}
	}
}

// refs returns img and, when it names an image of the fake's registry by
// tag, that image by its digest.
func (f *Fake) refs(img string) []string {
	refs := []string{img}
	name, tag, ok := cutTag(img)
	if !ok {
		return refs
	}
	for _, i := range f.images[strings.TrimPrefix(name, Registry+"/")] {
		if i.Tag == tag {
			refs = append(refs, name+"@"+i.Digest)
		}
	}
	return refs
}

// cutTag splits an image reference name:tag; ok is false when it has no
// tag or a digest.
func cutTag(img string) (name, tag string, ok bool) {
	if strings.Contains(img, "@") {
		return "", "", false
	}
	i := strings.LastIndex(img, ":")
	if i < 0 || i < strings.LastIndex(img, "/") {
		return "", "", false
	}
	return img[:i], img[i+1:], true
}

// PushImage pushes a new image to repository with tag, at the fake's
// clock. As in ECR a tag names one image: pushing a tag again moves it to
// the new image, whose digest differs (the fake's images differ by their
// push only), and leaves the old image untagged, still there by its
// digest.
func (f *Fake) PushImage(repository, tag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushes++
	imgs := f.images[repository]
	for i := range imgs {
		if imgs[i].Tag == tag {
			imgs[i].Tag = ""
		}
	}
	f.images[repository] = append(imgs, image{Tag: tag, Digest: fmt.Sprintf("sha256:%064x", f.pushes), Pushed: f.tick()})
}

// DeleteImage deletes the image digest names from repository, as
// BatchDeleteImage would.
func (f *Fake) DeleteImage(repository, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[repository] = slices.DeleteFunc(f.images[repository], func(i image) bool { return i.Digest == digest })
}

// ImageDigest returns the digest of the image tag names in repository, or "".
func (f *Fake) ImageDigest(repository, tag string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.images[repository] {
		if i.Tag == tag {
			return i.Digest
		}
	}
	return ""
}

// ServiceTaskDef returns the task definition of the service's PRIMARY
// deployment and its desired count.
func (f *Fake) ServiceTaskDef(cluster, name string) (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[cluster+"/"+name]
	return s.Deployments[0].TaskDef, s.Deployments[0].Desired
}

// TaskDef returns a copy of a registered task definition by ARN, or nil.
func (f *Fake) TaskDef(arnStr string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.taskDef(arnStr))
}

// taskDef returns the task definition "family:revision" or its ARN, or
// for a family alone its latest ACTIVE revision, as ECS does; nil when
// there is none.
func (f *Fake) taskDef(ref string) taskDef {
	ref = strings.TrimPrefix(ref, arn("task-definition", ""))
	family, revStr, ok := strings.Cut(ref, ":")
	revs := f.taskDefs[family]
	if len(revs) == 0 {
		return nil
	}
	if !ok {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i]["status"] == "ACTIVE" {
				return revs[i]
			}
		}
		return nil
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 || rev > len(revs) {
		return nil
	}
	return revs[rev-1]
}

func (s *service) event(at time.Time, format string, args ...any) {
	s.Events = append([]event{{ID: fmt.Sprintf("ev-%d", at.UnixNano()), Message: fmt.Sprintf(format, args...), At: at}}, s.Events...)
}

// newDeployment makes a PRIMARY deployment of taskDef; the old PRIMARY
// becomes ACTIVE. It starts a service deployment in the history.
func (f *Fake) newDeployment(s *service, taskDef string, desired int) *deployment {
	f.seq++
	now := f.tick()
	d := &deployment{ID: fmt.Sprintf("ecs-svc/%019d", f.seq), Status: "PRIMARY", TaskDef: taskDef, Rollout: "IN_PROGRESS",
		Reason: "ECS deployment " + fmt.Sprintf("ecs-svc/%019d", f.seq) + " in progress.", Desired: desired, Pending: 0, Created: now, Updated: now}
	for _, old := range s.Deployments {
		old.Status = "ACTIVE"
	}
	s.Deployments = append([]*deployment{d}, s.Deployments...)
	d.revision = arn("service-revision", s.Cluster+"/"+s.Name+"/"+strconv.Itoa(f.seq))
	f.revs[d.revision] = taskDef
	sd := serviceDeployment{ARN: arn("service-deployment", s.Cluster+"/"+s.Name+"/"+strconv.Itoa(f.seq)), Service: arn("service", s.Cluster+"/"+s.Name),
		Cluster: arn("cluster", s.Cluster), Status: "IN_PROGRESS", Revision: d.revision, Created: now}
	f.history = append(f.history, sd)
	s.history = sd.ARN
	return d
}

// finish ends the service's current service deployment.
func (f *Fake) finish(s *service, status string) {
	for i := range f.history {
		if f.history[i].ARN == s.history {
			f.history[i].Status, f.history[i].Finished = status, f.now
		}
	}
}

// step moves every deployment of s one step on, as time passing would.
func (f *Fake) step(s *service) {
	p := s.Deployments[0]
	if p.Rollout != "IN_PROGRESS" {
		return
	}
	now := f.tick()
	p.Updated = now
	img := f.image(p.TaskDef)
	switch {
	case p.Pending == 0 && p.Running < p.Desired && !(f.broken[img] && p.Failed > 0):
		p.Pending = p.Desired - p.Running
		s.event(now, "(service %s) has started %d tasks: (task %s).", s.Name, p.Pending, "0123abcd")
	case f.stalled[img]:
		// Pending until released.
	case f.broken[img]:
		p.Pending = 0
		p.Failed++
		key := s.Cluster + "/" + s.Name
		f.stopped[key] = append(f.stopped[key], stoppedTask{ARN: arn("task", fmt.Sprintf("%s/%032x", s.Cluster, len(f.stopped[key])+1)), TaskDef: p.TaskDef,
			Reason: "Essential container in task exited", At: now})
		if p.Failed < failuresToTrip || !s.Breaker {
			return
		}
		p.Rollout, p.Reason = "FAILED", "ECS deployment circuit breaker: tasks failed to start."
		s.event(now, "(service %s) (deployment %s) deployment failed: tasks failed to start.", s.Name, p.ID)
		if len(s.Deployments) < 2 {
			f.finish(s, "FAILED")
			return
		}
		prev := s.Deployments[1]
		// The rollback is a new PRIMARY deployment of the last good task
		// definition; the failed one stays ACTIVE until it has drained.
		hist := s.history
		f.seq++
		rb := &deployment{ID: fmt.Sprintf("ecs-svc/%019d", f.seq), Status: "PRIMARY", TaskDef: prev.TaskDef, Rollout: "IN_PROGRESS",
			Reason: "ECS deployment circuit breaker: rolling back to deploymentId " + prev.ID + ".", Desired: p.Desired, Running: prev.Running, Created: now, Updated: now, revision: prev.revision}
		p.Status = "ACTIVE"
		s.Deployments = []*deployment{rb, p}
		s.history = hist
		for i := range f.history {
			if f.history[i].ARN == hist {
				f.history[i].Status = "ROLLBACK_IN_PROGRESS"
			}
		}
		rb.rollbackTo = "rollback"
	default:
		p.Running, p.Pending = p.Desired, 0
		p.Rollout, p.Reason = "COMPLETED", "ECS deployment "+p.ID+" completed."
		s.Deployments = s.Deployments[:1]
		if p.rollbackTo != "" {
			f.finish(s, "ROLLBACK_SUCCESSFUL")
		} else {
			f.finish(s, "SUCCESSFUL")
		}
		s.event(now, "(service %s) has reached a steady state.", s.Name)
	}
}

// image returns the first container's image of a task definition.
func (f *Fake) image(ref string) string {
	td := f.taskDef(ref)
	if td == nil {
		return ""
	}
	c, _ := td["containerDefinitions"].([]any)
	if len(c) == 0 {
		return ""
	}
	m, _ := c[0].(map[string]any)
	img, _ := m["image"].(string)
	return img
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return awsfake.Errf("SerializationException", "%v", err)
	}
	return nil
}

func clusterName(c string) string {
	if c == "" {
		return "default"
	}
	return c[strings.LastIndex(c, "/")+1:]
}

func (f *Fake) findService(cluster, name string) (*service, error) {
	cluster = clusterName(cluster)
	if !f.hasCluster(cluster) {
		return nil, awsfake.Errf("ClusterNotFoundException", "Cluster not found.")
	}
	s := f.services[cluster+"/"+name[strings.LastIndex(name, "/")+1:]]
	if s == nil {
		return nil, awsfake.Errf("ServiceNotFoundException", "Service not found.")
	}
	return s, nil
}

func (f *Fake) hasCluster(c string) bool {
	for _, s := range f.services {
		if s.Cluster == c {
			return true
		}
	}
	return false
}

// page returns items[from token], at most max (def when 0), and the next
// token.
func page[T any](items []T, token string, max, def int) ([]T, *string, error) {
	from := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, awsfake.Errf("InvalidParameterException", "Invalid nextToken")
		}
		from = n
	}
	if max <= 0 {
		max = def
	}
	to := min(from+max, len(items))
	var next *string
	if to < len(items) {
		s := strconv.Itoa(to)
		next = &s
	}
	return items[from:to], next, nil
}

func (f *Fake) listServices(body []byte) (any, error) {
	var in struct {
		Cluster    string `json:"cluster"`
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := clusterName(in.Cluster)
	if !f.hasCluster(c) {
		return nil, awsfake.Errf("ClusterNotFoundException", "Cluster not found.")
	}
	var arns []string
	for _, s := range f.services {
		if s.Cluster == c {
			arns = append(arns, arn("service", c+"/"+s.Name))
		}
	}
	slices.Sort(arns)
	got, next, err := page(arns, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	return map[string]any{"serviceArns": got, "nextToken": next}, nil
}

func (f *Fake) describeServices(body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Services) > 10 {
		return nil, awsfake.Errf("InvalidParameterException", "services can have at most 10 items.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	failures := []any{}
	for _, name := range in.Services {
		s, err := f.findService(in.Cluster, name)
		if err != nil {
			if e := err.(*awsfake.Error); e.Code == "ClusterNotFoundException" {
				return nil, err
			}
			failures = append(failures, map[string]any{"arn": arn("service", clusterName(in.Cluster)+"/"+name), "reason": "MISSING"})
			continue
		}
		f.step(s)
		out = append(out, f.render(s))
	}
	return map[string]any{"services": out, "failures": failures}, nil
}

func (f *Fake) render(s *service) map[string]any {
	var deps, events []any
	running, pending := 0, 0
	for _, d := range s.Deployments {
		running += d.Running
		pending += d.Pending
		deps = append(deps, map[string]any{
			"id": d.ID, "status": d.Status, "taskDefinition": d.TaskDef, "desiredCount": d.Desired,
			"runningCount": d.Running, "pendingCount": d.Pending, "failedTasks": d.Failed,
			"rolloutState": d.Rollout, "rolloutStateReason": d.Reason, "launchType": "FARGATE",
			"createdAt": float64(d.Created.Unix()), "updatedAt": float64(d.Updated.Unix()),
		})
	}
	for _, e := range s.Events {
		events = append(events, map[string]any{"id": e.ID, "message": e.Message, "createdAt": float64(e.At.Unix())})
	}
	p := s.Deployments[0]
	return map[string]any{
		"serviceArn": arn("service", s.Cluster+"/"+s.Name), "serviceName": s.Name, "clusterArn": arn("cluster", s.Cluster),
		"status": "ACTIVE", "desiredCount": p.Desired, "runningCount": running, "pendingCount": pending, "launchType": "FARGATE",
		"taskDefinition": p.TaskDef, "deployments": deps, "events": events,
		"deploymentConfiguration": map[string]any{
			"deploymentCircuitBreaker": map[string]any{"enable": s.Breaker, "rollback": s.Breaker},
			"maximumPercent":           200, "minimumHealthyPercent": 100,
		},
	}
}

func (f *Fake) describeTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	td := f.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, awsfake.Errf("ClientException", "Unable to describe task definition.")
	}
	// A copy: the answer is encoded after the lock is released, and
	// deregistering changes the stored one.
	out := map[string]any{"taskDefinition": maps.Clone(td)}
	if slices.Contains(in.Include, "TAGS") {
		out["tags"] = f.tdTags[td["taskDefinitionArn"].(string)]
	}
	return out, nil
}

func (f *Fake) registerTaskDefinition(body []byte) (any, error) {
	var in map[string]any
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	family, _ := in["family"].(string)
	cs, _ := in["containerDefinitions"].([]any)
	if family == "" || len(cs) == 0 {
		return nil, awsfake.Errf("ClientException", "family and containerDefinitions are required.")
	}
	for _, k := range []string{"revision", "taskDefinitionArn", "status", "registeredAt"} {
		if _, ok := in[k]; ok {
			return nil, awsfake.Errf("SerializationException", "Unexpected field %s", k)
		}
	}
	for _, c := range cs {
		m, _ := c.(map[string]any)
		img, _ := m["image"].(string)
		if err := checkImage(img); err != nil {
			return nil, awsfake.Errf("ClientException", "Container.image of container %v: %v", m["name"], err)
		}
	}
	tags := in["tags"]
	delete(in, "tags")
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.register(tags, in)
	return map[string]any{"taskDefinition": maps.Clone(f.taskDef(a)), "tags": tags}, nil
}

// deregisterTaskDefinition marks a revision INACTIVE: it can still be
// described, and services running it go on, but no new deployment may use
// it.
func (f *Fake) deregisterTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !strings.Contains(strings.TrimPrefix(in.TaskDefinition, arn("task-definition", "")), ":") {
		return nil, awsfake.Errf("ClientException", "The specified task definition identifier is invalid. Specify a valid revision.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	td := f.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, awsfake.Errf("ClientException", "The specified task definition does not exist.")
	}
	td["status"] = "INACTIVE"
	td["deregisteredAt"] = float64(f.tick().Unix())
	return map[string]any{"taskDefinition": maps.Clone(td)}, nil
}

func (f *Fake) updateService(body []byte) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		Service        string `json:"service"`
		TaskDefinition string `json:"taskDefinition"`
		DesiredCount   *int   `json:"desiredCount"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.findService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	p := s.Deployments[0]
	desired := p.Desired
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if in.TaskDefinition != "" {
		td := f.taskDef(in.TaskDefinition)
		if td == nil {
			return nil, awsfake.Errf("ClientException", "TaskDefinition not found.")
		}
		if td["status"] != "ACTIVE" {
			return nil, awsfake.Errf("ClientException", "TaskDefinition is inactive")
		}
		f.newDeployment(s, td["taskDefinitionArn"].(string), desired)
	} else if in.DesiredCount != nil {
		// A new count changes the PRIMARY deployment in place.
		p.Desired = desired
		p.Running = min(p.Running, desired)
		if p.Running < desired && p.Rollout == "COMPLETED" {
			p.Running = desired
		}
	}
	return map[string]any{"service": f.render(s)}, nil
}

func (f *Fake) listTasks(body []byte) (any, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		DesiredStatus string `json:"desiredStatus"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.findService(in.Cluster, in.ServiceName); err != nil {
		return nil, err
	}
	arns := []string{}
	if in.DesiredStatus == "STOPPED" {
		for _, t := range f.stopped[clusterName(in.Cluster)+"/"+in.ServiceName] {
			arns = append(arns, t.ARN)
		}
	}
	return map[string]any{"taskArns": arns}, nil
}

func (f *Fake) describeTasks(body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Tasks) > 100 {
		return nil, awsfake.Errf("InvalidParameterException", "tasks can have at most 100 items.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, all := range f.stopped {
		for _, t := range all {
			if slices.Contains(in.Tasks, t.ARN) {
				out = append(out, map[string]any{"taskArn": t.ARN, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
					"taskDefinitionArn": t.TaskDef, "stoppedReason": t.Reason, "stoppedAt": float64(t.At.Unix()), "stopCode": "EssentialContainerExited"})
			}
		}
	}
	return map[string]any{"tasks": out, "failures": []any{}}, nil
}

func (f *Fake) listServiceDeployments(body []byte) (any, error) {
	var in struct {
		Cluster    string   `json:"cluster"`
		Service    string   `json:"service"`
		Status     []string `json:"status"`
		NextToken  string   `json:"nextToken"`
		MaxResults int      `json:"maxResults"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.findService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	var out []any
	for i := len(f.history) - 1; i >= 0; i-- { // newest first
		h := f.history[i]
		if h.Service != arn("service", s.Cluster+"/"+s.Name) || len(in.Status) > 0 && !slices.Contains(in.Status, h.Status) {
			continue
		}
		b := map[string]any{"serviceDeploymentArn": h.ARN, "serviceArn": h.Service, "clusterArn": h.Cluster, "status": h.Status,
			"targetServiceRevisionArn": h.Revision, "createdAt": float64(h.Created.Unix()), "startedAt": float64(h.Created.Unix())}
		if !h.Finished.IsZero() {
			b["finishedAt"] = float64(h.Finished.Unix())
		}
		out = append(out, b)
	}
	got, next, err := page(out, in.NextToken, in.MaxResults, 20)
	if err != nil {
		return nil, err
	}
	return map[string]any{"serviceDeployments": got, "nextToken": next}, nil
}

func (f *Fake) describeServiceRevisions(body []byte) (any, error) {
	var in struct {
		ARNs []string `json:"serviceRevisionArns"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.ARNs) > 20 {
		return nil, awsfake.Errf("InvalidParameterException", "serviceRevisionArns can have at most 20 items.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out, failures := []any{}, []any{}
	for _, a := range in.ARNs {
		td, ok := f.revs[a]
		if !ok {
			failures = append(failures, map[string]any{"arn": a, "reason": "MISSING"})
			continue
		}
		out = append(out, map[string]any{"serviceRevisionArn": a, "taskDefinition": td})
	}
	return map[string]any{"serviceRevisions": out, "failures": failures}, nil
}

func (f *Fake) describeImages(body []byte) (any, error) {
	var in struct {
		RepositoryName string `json:"repositoryName"`
		ImageIDs       []struct {
			ImageTag    string `json:"imageTag"`
			ImageDigest string `json:"imageDigest"`
		} `json:"imageIds"`
		Filter struct {
			TagStatus string `json:"tagStatus"`
		} `json:"filter"`
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	imgs, ok := f.images[in.RepositoryName]
	if !ok {
		return nil, awsfake.Errf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, awsfake.Account)
	}
	detail := func(i image) map[string]any {
		d := map[string]any{"registryId": awsfake.Account, "repositoryName": in.RepositoryName, "imageDigest": i.Digest,
			"imagePushedAt": float64(i.Pushed.Unix()), "imageSizeInBytes": 12345678}
		if i.Tag != "" {
			d["imageTags"] = []string{i.Tag}
		}
		return d
	}
	var out []any
	if len(in.ImageIDs) > 0 {
		for _, id := range in.ImageIDs {
			// An id names an image by its tag, its digest or both (which
			// must then agree).
			j := slices.IndexFunc(imgs, func(i image) bool {
				return (id.ImageTag != "" || id.ImageDigest != "") &&
					(id.ImageTag == "" || i.Tag == id.ImageTag) && (id.ImageDigest == "" || i.Digest == id.ImageDigest)
			})
			if j < 0 {
				return nil, awsfake.Errf("ImageNotFoundException", "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
					cmp.Or(id.ImageDigest, "null"), cmp.Or(id.ImageTag, "null"), in.RepositoryName, awsfake.Account)
			}
			out = append(out, detail(imgs[j]))
		}
		return map[string]any{"imageDetails": out}, nil
	}
	for _, i := range imgs { // ECR's order is not by time; the bot sorts
		switch {
		case in.Filter.TagStatus == "TAGGED" && i.Tag == "", in.Filter.TagStatus == "UNTAGGED" && i.Tag != "":
			continue
		}
		out = append(out, detail(i))
	}
	got, next, err := page(out, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return map[string]any{"imageDetails": got, "nextToken": next}, nil
}
