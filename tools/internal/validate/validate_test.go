package validate

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func runValidator(t testing.TB, mem filesys.FileSystem, bots ...string) []Problem {
	t.Helper()
	v := &Validator{FS: mem, Root: memRoot}
	rep, err := v.Run(context.Background(), bots)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Problems
}

func TestRepoFixtureIsValid(t *testing.T) {
	problems := runValidator(t, fixture(t, "second-bot"))
	for _, p := range problems {
		t.Errorf("problem: %s", p)
	}
}

// Files of the fixture the cases edit.
const (
	base      = "bots/hello/manifests/base/"
	dev       = "bots/hello/manifests/envs/dev/"
	prd       = "bots/hello/manifests/envs/prd/"
	devDir    = "bots/hello/manifests/envs/dev"
	prdDir    = "bots/hello/manifests/envs/prd"
	deploy    = base + "deployment.yaml"
	devPatch  = dev + "deployment-patch.yaml"
	prdPatch  = prd + "deployment-patch.yaml"
	devKust   = dev + "kustomization.yaml"
	appsetDev = "manifests/argocd/bots-dev.yaml"
	projects  = "manifests/argocd/projects.yaml"
	releaseWF = ".github/workflows/release.yml"
	promoteWF = ".github/workflows/promote.yml"
	ciWF      = ".github/workflows/ci.yml"
	// codeOwnersFile is where GitHub looks first.
	codeOwnersFile = ".github/CODEOWNERS"
	ecrPolicy      = ".github/ecr-lifecycle-policy.json"
	prdKust        = prd + "kustomization.yaml"
	// oldPolicy is the one release.yml used to put: the last 100 images.
	oldPolicy = `{"rules": [{"rulePriority": 1, "description": "keep the last 100 images", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100}, "action": {"type": "expire"}}]}`
	appsetPrd = "manifests/argocd/bots-prd.yaml"
)

type change struct{ file, old, new string }

// add appends a resource to hello's base.
func addToBase(name, doc string) []change {
	return []change{
		{base + "kustomization.yaml", "  - deployment.yaml", "  - deployment.yaml\n  - " + name},
		{base + name, "", doc},
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name    string
		changes []change
		remove  []string
		// want is a problem's whole line, or its end when it starts with "…".
		want string
	}{
		// Strict decoding and schemas.
		{name: "unknown field", changes: []change{{deploy, "readinessProbe:", "readinesProbe:"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].readinesProbe: unknown field"},
		{name: "wrong type", changes: []change{{deploy, "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: sixty"}},
			want: devDir + ": Deployment/hello: spec.template.spec.terminationGracePeriodSeconds: want int64, got string"},
		{name: "unknown kind", changes: addToBase("widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"),
			want: devDir + ": Widget/w: unknown kind example.com/v1 Widget: botctl validate has no Go type for it (tools/internal/validate)"},
		{name: "kustomize build fails", changes: []change{{devKust, "path: deployment-patch.yaml", "path: missing.yaml"}},
			want: devDir + ": kustomize build: trouble configuring builtin PatchTransformer with config: ` path: missing.yaml `: failed to get the patch file from path(missing.yaml): 'bots/hello/manifests/envs/dev/missing.yaml' doesn't exist"},

		// Pod Security "restricted".
		{name: "privilege escalation", changes: []change{{deploy, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"}},
			want: devDir + `: Deployment/hello: spec.template.spec: Pod Security restricted: allowPrivilegeEscalation != false (container "bot" must set securityContext.allowPrivilegeEscalation=false)`},
		{name: "capabilities", changes: []change{{deploy, "- ALL", "- NET_RAW"}},
			want: "…Pod Security restricted: unrestricted capabilities (container \"bot\" must set securityContext.capabilities.drop=[\"ALL\"])"},
		{name: "seccomp", changes: []change{{deploy, "type: RuntimeDefault", "type: Unconfined"}},
			want: `…Pod Security restricted: seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`},
		{name: "run as root", changes: []change{{deploy, "runAsNonRoot: true", "runAsNonRoot: false"}},
			want: "…Pod Security restricted: runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"},

		// Slack apps.
		{name: "slash command declared twice", changes: []change{{"bots/hello/slack-app.prd.yaml", "    - command: /hello\n", "    - command: /hello-dev\n"}},
			want: "bots/hello/slack-app.prd.yaml: slash command /hello-dev is declared by bots/hello/slack-app.dev.yaml too; Slack gives a workspace one /hello-dev: rename one bot's slash command"},
		{name: "Slack app missing", remove: []string{"bots/hello/slack-app.dev.yaml"},
			want: "bots/hello/slack-app.dev.yaml: missing: each environment is its own Slack app; write it with `botctl slack-app hello --env dev > bots/hello/slack-app.dev.yaml`"},

		// Fargate.
		{name: "host network", changes: []change{{deploy, "enableServiceLinks: false", "enableServiceLinks: false\n      hostNetwork: true"}},
			want: devDir + ": Deployment/hello: spec.template.spec.hostNetwork: Fargate: pods cannot share the host's namespaces"},
		{name: "hostPath", changes: []change{{deploy, "      volumes:\n", "      volumes:\n        - name: host\n          hostPath:\n            path: /var\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.volumes: volume "host": Fargate: no hostPath volumes`},
		{name: "host port", changes: []change{{deploy, "containerPort: 8080", "containerPort: 8080\n              hostPort: 8080"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].ports[0].hostPort: Fargate: no host ports"},
		{name: "privileged", changes: []change{{deploy, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: false\n            privileged: true"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].securityContext.privileged: Fargate: no privileged containers"},
		{name: "DaemonSet", changes: addToBase("ds.yaml", `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {app.kubernetes.io/name: hello, app.kubernetes.io/part-of: botfleet}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox}]
`), want: devDir + ": DaemonSet/agent: Fargate runs no DaemonSets"},

		// The cluster contract.
		{name: "image repository", changes: []change{{devKust, "newName: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello", "newName: docker.io/hello"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].image: "docker.io/hello:0000000", want 123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello:<tag> (botfleet.yaml aws.ecrRegistry; set images[].newName in the overlay)`},
		{name: "image tag latest", changes: []change{{devKust, `newTag: "0000000"`, "newTag: latest"}},
			want: `…containers[0].image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello:latest": want a fixed tag (the git SHA the release pipeline sets), not "latest"`},
		{name: "image without tag", changes: []change{{devKust, `    newTag: "0000000"` + "\n", ""}},
			want: `…containers[0].image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello": want a fixed tag (the git SHA the release pipeline sets), not "none"`},
		{name: "liveness path", changes: []change{{deploy, "path: /healthz", "path: /health"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].livenessProbe: want an HTTP GET of /healthz on port http"},
		{name: "no readiness probe", changes: []change{{deploy, "readinessProbe:", "startupProbe:"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].readinessProbe: missing: want an HTTP GET of /readyz on port http"},
		{name: "requests != limits", changes: []change{{prdPatch, "limits:\n              cpu: 250m", "limits:\n              cpu: 500m"}},
			want: prdDir + ": Deployment/hello: spec.template.spec.containers[0].resources: cpu: requests 250m != limits 500m: Fargate sizes the pod from requests; keep them equal"},
		{name: "no memory limit", changes: []change{{prdPatch, "cpu: 250m\n              memory: 512Mi\n", "cpu: 250m\n"}},
			want: prdDir + ": Deployment/hello: spec.template.spec.containers[0].resources: memory: set requests and limits, equal: Fargate sizes the pod from them"},
		{name: "part-of label", changes: []change{{base + "service.yaml", "app.kubernetes.io/part-of: botfleet", "app.kubernetes.io/part-of: fleet"}},
			want: devDir + `: Service/hello: metadata.labels: app.kubernetes.io/part-of is "fleet", want "botfleet"`},
		{name: "pod name label", changes: []change{{deploy, "      labels:\n        app.kubernetes.io/name: hello\n        app.kubernetes.io/part-of", "      labels:\n        app.kubernetes.io/name: hi\n        app.kubernetes.io/part-of"}},
			want: devDir + `: Deployment/hello: spec.template.metadata.labels: app.kubernetes.io/name is "hi", want "hello"`},
		{name: "namespace", changes: []change{{devKust, "namespace: infra-bot-dev", "namespace: infra-bot-prd"}},
			want: devDir + `: Deployment/hello: metadata.namespace: "infra-bot-prd", want "infra-bot-dev" (botfleet.yaml environments.dev.namespace)`},
		{name: "role ARN", changes: []change{{base + "serviceaccount.yaml", "  name: hello\n", "  name: hello\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/hello\n"}},
			want: devDir + `: ServiceAccount/hello: metadata.annotations["eks.amazonaws.com/role-arn"]: "arn:aws:iam::123456789012:role/hello", want "arn:aws:iam::123456789012:role/botfleet-hello-dev" (botfleet.yaml aws.roleARN): run ` + "`botctl init`"},
		{name: "BOT_ENV", changes: []change{{devPatch, "value: dev", "value: prd"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].env: BOT_ENV is "prd", want "dev"`},
		{name: "BOT_CONFIG", changes: []change{{devPatch, "/efs/config/hello/dev.yaml", "/efs/config/hello/prd.yaml"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].env: BOT_CONFIG is "/efs/config/hello/prd.yaml", want "/efs/config/hello/dev.yaml"`},
		{name: "no Secret", changes: []change{{devPatch, "          envFrom:\n            - secretRef:\n                name: hello-slack\n", ""}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].envFrom: no Secret: want envFrom secretRef hello-slack, the environment's Slack tokens"},
		{name: "EFS config mount moved", changes: []change{{deploy, "mountPath: /efs/config/hello", "mountPath: /data/config/hello"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].volumeMounts[0].mountPath: "/data/config/hello", want /efs/config/hello, the path config/hello has in the volume (and in every pod and doc)`},
		{name: "EFS no config mount", changes: []change{{deploy, "              mountPath: /efs/config/hello\n              subPath: config/hello\n              readOnly: true\n", "              mountPath: /efs/state/hello/config\n              subPath: state/hello/config\n"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].volumeMounts: want config/hello of the environment's EFS claim botfleet-efs mounted read-only at /efs/config/hello by subPath (BOT_CONFIG is there)"},
		{name: "EFS whole volume", changes: []change{{deploy, "              mountPath: /efs/state/hello\n              subPath: state/hello\n", "              mountPath: /efs\n"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].volumeMounts[1]: no subPath: it mounts the whole EFS volume, every bot's config and state; mount config/hello read-only and state/hello"},
		{name: "EFS another bot's state", changes: []change{{deploy, "              mountPath: /efs/state/hello\n              subPath: state/hello\n", "              mountPath: /efs/state/ansible\n              subPath: state/ansible\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].volumeMounts[1].subPath: "state/ansible" is bot ansible's: a bot mounts only its own directories (state/hello)`},
		{name: "EFS every bot's config", changes: []change{{deploy, "              mountPath: /efs/state/hello\n              subPath: state/hello\n", "              mountPath: /efs/config\n              subPath: state/hello/../../config/\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].volumeMounts[1].subPath: "state/hello/../../config/" holds every bot's config: mount config/hello`},
		{name: "EFS config writable", changes: []change{{deploy, "              subPath: config/hello\n              readOnly: true\n", "              subPath: config/hello\n"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].volumeMounts[0].readOnly: want true: the bot reads its config; the sync hook hello-config installs it from Git"},
		{name: "EFS subPathExpr", changes: []change{{deploy, "subPath: state/hello", "subPathExpr: state/$(BOT_ENV)"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].volumeMounts[1].subPathExpr: "state/$(BOT_ENV)": want a fixed subPath (config/hello, state/hello), which can be checked`},
		{name: "EFS around the claim", changes: []change{{deploy, "      volumes:\n", "      volumes:\n        - name: raw\n          csi:\n            driver: efs.csi.aws.com\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.volumes[0]: volume "raw" reaches EFS around the claim botfleet-efs: mount the bot's directories of the claim by subPath`},
		{name: "tmp mount", changes: []change{{deploy, "mountPath: /tmp", "mountPath: /scratch"}},
			want: "…containers[0].volumeMounts: want an emptyDir at /tmp (the root filesystem is read-only)"},
		{name: "grace period", changes: []change{{deploy, "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 10"}},
			want: devDir + ": Deployment/hello: spec.template.spec.terminationGracePeriodSeconds: 10, want at least 30: botkit lets running commands finish for BOT_GRACE_PERIOD (25s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for"},
		{name: "grace period under BOT_GRACE_PERIOD", changes: []change{{devPatch, "            - name: BOT_ENV\n", "            - name: BOT_GRACE_PERIOD\n              value: 30m\n            - name: BOT_ENV\n"}},
			want: devDir + ": Deployment/hello: spec.template.spec.terminationGracePeriodSeconds: 60, want at least 1805: botkit lets running commands finish for BOT_GRACE_PERIOD (30m0s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for"},
		{name: "grace period without the margin", changes: []change{{devPatch, "            - name: BOT_ENV\n", "            - name: BOT_GRACE_PERIOD\n              value: 58s\n            - name: BOT_ENV\n"}},
			want: devDir + ": Deployment/hello: spec.template.spec.terminationGracePeriodSeconds: 60, want at least 63: botkit lets running commands finish for BOT_GRACE_PERIOD (58s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for"},
		{name: "grace period under preStop and BOT_GRACE_PERIOD", changes: append(useALB(t), change{devPatch, "            - name: BOT_ENV\n", "            - name: BOT_GRACE_PERIOD\n              value: 40s\n            - name: BOT_ENV\n"}),
			want: devDir + ": Deployment/hello: spec.template.spec.terminationGracePeriodSeconds: 60, want at least 65: the kubelet counts it from the preStop sleep (20s), then botkit lets running commands finish for BOT_GRACE_PERIOD (40s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for"},
		{name: "bad BOT_GRACE_PERIOD", changes: []change{{devPatch, "            - name: BOT_ENV\n", "            - name: BOT_GRACE_PERIOD\n              value: half an hour\n            - name: BOT_ENV\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].env: BOT_GRACE_PERIOD is "half an hour": want a duration such as 25s or 30m (the bot refuses to start)`},

		// Rollouts and replicas.
		{name: "replicas 3", changes: append(useTwoReplicas(t), change{TwoReplicas + "/kustomization.yaml", "value: 2", "value: 3"}),
			want: devDir + ": Deployment/hello: spec.replicas: 3, want 1, or 2 with the component manifests/components/two-replicas in bots/hello/manifests/envs/dev/kustomization.yaml (it adds the PodDisruptionBudget)"},
		{name: "two replicas without a budget", changes: []change{{deploy, "replicas: 1", "replicas: 2"}},
			want: devDir + ": Deployment/hello: spec.replicas: 2 replicas and no PodDisruptionBudget: an eviction (Fargate's patching, a drain) may take them all at once; list the component manifests/components/two-replicas under components: in bots/hello/manifests/envs/dev/kustomization.yaml, which sets the replicas and a budget of minAvailable 1"},
		{name: "two replicas with a budget for other pods", changes: append(useTwoReplicas(t), change{TwoReplicas + "/kustomization.yaml", "          - spec.selector.matchLabels.[app.kubernetes.io/name]\n", ""}),
			want: devDir + ": Deployment/hello: spec.replicas: 2 replicas and no PodDisruptionBudget: an eviction (Fargate's patching, a drain) may take them all at once; list the component manifests/components/two-replicas under components: in bots/hello/manifests/envs/dev/kustomization.yaml, which sets the replicas and a budget of minAvailable 1"},
		{name: "two replicas with Recreate", changes: append(useTwoReplicas(t), change{deploy, rolling, "    type: Recreate\n"}),
			want: devDir + ": Deployment/hello: spec.strategy.type: Recreate with 2 replicas stops every pod before it starts one: the bot is off Slack for the whole rollout; set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in bots/hello/manifests/base/deployment.yaml"},
		{name: "two replicas without the state directory", changes: append(useTwoReplicas(t), change{deploy, stateMount, ""}),
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].volumeMounts: 2 replicas without the bot's state directory: want state/hello of the EFS claim botfleet-efs mounted writable at /efs/state/hello by subPath (as bots/hello/manifests/base/deployment.yaml has it), where botkit shares event dedupe, the inbox, interactions, jobs and schedule ticks between the processes"},
		{name: "two replicas with the state directory read-only", changes: append(useTwoReplicas(t), change{deploy, stateMount, stateMount + "              readOnly: true\n"}),
			want: "…containers[0].volumeMounts: 2 replicas without the bot's state directory: want state/hello of the EFS claim botfleet-efs mounted writable at /efs/state/hello by subPath"},
		{name: "two replicas with state elsewhere", changes: append(useTwoReplicas(t), change{deploy, "value: /efs/state/hello", "value: /tmp/state"}),
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].env: BOT_STATE_DIR is "/tmp/state": with 2 replicas it must be on the bot's state directory /efs/state/hello, shared by every process; set it to /efs/state/hello in bots/hello/manifests/base/deployment.yaml`},
		{name: "budget blocks evictions", changes: append(useTwoReplicas(t), change{TwoReplicas + "/pdb.yaml", "minAvailable: 1", "minAvailable: 2"}),
			want: devDir + ": PodDisruptionBudget/hello: spec: keeps all 2 pods of hello up, so it blocks every eviction: Fargate's patching and node drains would wait on it for good; want minAvailable 1"},
		{name: "budget keeps none", changes: append(useTwoReplicas(t), change{TwoReplicas + "/pdb.yaml", "minAvailable: 1", "maxUnavailable: 100%"}),
			want: devDir + ": PodDisruptionBudget/hello: spec: keeps no pod of hello up through an eviction: want minAvailable 1"},
		{name: "budget of the one pod", changes: addToBase("pdb.yaml", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: hello\n  labels: {app.kubernetes.io/name: hello, app.kubernetes.io/part-of: botfleet}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app.kubernetes.io/name: hello}}\n"),
			want: devDir + ": PodDisruptionBudget/hello: spec: blocks every eviction of hello's one pod: Fargate's patching and node drains would wait on it for good; remove the budget, or ask for two replicas with the component manifests/components/two-replicas in bots/hello/manifests/envs/dev/kustomization.yaml"},
		{name: "rolling update without surge", changes: []change{{deploy, "maxSurge: 1", "maxSurge: 0\n      # none"}, {deploy, "maxUnavailable: 0", "maxUnavailable: 1"}},
			want: devDir + `: Deployment/hello: spec.strategy.rollingUpdate.maxUnavailable: "1", want 0: the old pod must keep its Slack connection until the new one is connected; set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in bots/hello/manifests/base/deployment.yaml`},
		{name: "rolling update surging two", changes: []change{{deploy, "maxSurge: 1", "maxSurge: 2"}},
			want: devDir + `: Deployment/hello: spec.strategy.rollingUpdate.maxSurge: "2", want 1: one new pod at a time, which the stray connection alert allows for (replicas plus 1); set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in bots/hello/manifests/base/deployment.yaml`},
		{name: "rolling update by default", changes: []change{{deploy, rolling, "    type: RollingUpdate\n"}},
			want: devDir + ": Deployment/hello: spec.strategy.rollingUpdate.maxUnavailable: not set (Kubernetes' default is 25%), want 0: the old pod must keep its Slack connection until the new one is connected; set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in bots/hello/manifests/base/deployment.yaml"},
		{name: "HTTP without a preStop sleep", changes: append(useALB(t), change{albComponent + "kustomization.yaml", "seconds: 20", "seconds: 5"}),
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].lifecycle.preStop: sleeps 5s behind the Ingress hello, want at least 20s: a stopping pod must serve until the load balancer has stopped sending it requests; the component manifests/components/alb-ingress adds it"},
		{name: "HTTP without the readiness gate", changes: append(useALB(t), change{"manifests/namespaces.yaml", "    elbv2.k8s.aws/pod-readiness-gate-inject: enabled\n", ""}),
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: elbv2.k8s.aws/pod-readiness-gate-inject is "", want "enabled": bot hello is behind an ALB (bots/hello/manifests/envs/dev), and without the gate a rollout stops its old pod before the ALB sends the new one requests`},
		{name: "project lacks PodDisruptionBudget", changes: append(useTwoReplicas(t), change{projects, "    - group: policy\n      kind: PodDisruptionBudget\n", ""}),
			want: devDir + ": PodDisruptionBudget/hello: AppProject botfleet-dev does not permit kind PodDisruptionBudget (its namespaceResourceWhitelist): Argo CD would refuse to sync it"},
		{name: "run as user", changes: []change{{deploy, "runAsUser: 65532", "runAsUser: 1000"}},
			want: devDir + ": Deployment/hello: spec.template.spec.securityContext.runAsUser: 1000, want 65532: the image's user and the EFS access point's POSIX user"},
		{name: "writable root", changes: []change{{deploy, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem: want true (write to /tmp or /efs)"},
		{name: "run as group", changes: []change{{deploy, "runAsGroup: 65532", "runAsGroup: 0"}},
			want: devDir + ": Deployment/hello: spec.template.spec.securityContext.runAsGroup: 0, want 65532: the image's user and the EFS access point's POSIX user"},
		{name: "no fsGroup", changes: []change{{deploy, "        fsGroup: 65532\n", ""}},
			want: devDir + ": Deployment/hello: spec.template.spec.securityContext.fsGroup: not set, want 65532: the image's user and the EFS access point's POSIX user"},
		{name: "AWS_REGION", changes: []change{{devPatch, "            - name: BOT_ENV\n", "            - name: AWS_REGION\n              value: us-east-1\n            - name: BOT_ENV\n"}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0].env: AWS_REGION is "us-east-1", want "eu-west-1" (botfleet.yaml aws.region)`},
		{name: "no liveness probe", changes: []change{{deploy, "livenessProbe:", "startupProbe:"}},
			want: devDir + ": Deployment/hello: spec.template.spec.containers[0].livenessProbe: missing: want an HTTP GET of /healthz on port http"},
		{name: "no cpu request", changes: []change{{prdPatch, "requests:\n              cpu: 250m\n", "requests:\n"}},
			want: prdDir + ": Deployment/hello: spec.template.spec.containers[0].resources: cpu: set requests and limits, equal: Fargate sizes the pod from them"},
		{name: "more CPU than Fargate has", changes: []change{{prdPatch, "cpu: 250m", "cpu: \"32\""}, {prdPatch, "cpu: 250m", "cpu: \"32\""}},
			want: prdDir + ": Deployment/hello: spec.template.spec: Fargate has no size for cpu 32, memory 512Mi plus Fargate's 256Mi (the largest is 16 vCPU, 120 GB): the pod would stay Pending"},
		{name: "more memory than Fargate has", changes: []change{{prdPatch, "memory: 512Mi", "memory: 120Gi"}, {prdPatch, "memory: 512Mi", "memory: 120Gi"}},
			want: prdDir + ": Deployment/hello: spec.template.spec: Fargate has no size for cpu 250m, memory 120Gi plus Fargate's 256Mi (the largest is 16 vCPU, 120 GB): the pod would stay Pending"},
		{name: "no ServiceAccount", changes: []change{{base + "kustomization.yaml", "  - serviceaccount.yaml\n", ""}, {devKust, "  - path: serviceaccount-patch.yaml\n", ""}},
			want: devDir + `: no ServiceAccount named "hello": every bot has a Deployment, a ServiceAccount and a Service named after it`},
		{name: "no Deployment", changes: []change{{base + "kustomization.yaml", "  - deployment.yaml\n", ""}, {devKust, "  - path: deployment-patch.yaml\n", ""}},
			want: devDir + `: no Deployment named "hello": every bot has a Deployment, a ServiceAccount and a Service named after it`},
		{name: "no Service", changes: []change{{base + "kustomization.yaml", "  - service.yaml\n", ""}},
			want: devDir + `: no Service named "hello": every bot has a Deployment, a ServiceAccount and a Service named after it`},
		{name: "unknown environment", changes: []change{{"bots/hello/manifests/envs/stg/kustomization.yaml", "", "resources: [../../base]\n"}},
			want: `bots/hello/manifests/envs/stg: unknown environment "stg" (botfleet.yaml has dev, prd)`},
		{name: "missing environment", remove: []string{prdDir},
			want: prdDir + ": missing: every bot has an overlay per environment (botfleet.yaml has dev, prd)"},
		{name: "kind outside the project", changes: addToBase("role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: hello\n  labels: {app.kubernetes.io/name: hello, app.kubernetes.io/part-of: botfleet}\n"),
			want: devDir + ": Role/hello: AppProject botfleet-dev does not permit kind Role (its namespaceResourceWhitelist): Argo CD would refuse to sync it"},
		{name: "ingress placeholder host", changes: []change{{devKust, "resources:\n", "components:\n  - ../../../../../manifests/components/alb-ingress\nresources:\n"}},
			want: devDir + `: Ingress/hello: spec.rules[0].host: "bot.example.invalid" is a placeholder: set the bot's host in the overlay`},
		{name: "ingress routes /metrics", changes: append(useALB(t), change{albIngress, "path: /slack/options", "path: /metrics"}),
			want: devDir + `: Ingress/hello: spec.rules[0].http.paths[3]: Exact "/metrics" routes /metrics to the internet; it serves the cluster only`},
		{name: "ingress catch-all", changes: append(useALB(t), change{albIngress, "path: /hooks\n", "path: /\n"}),
			want: devDir + `: Ingress/hello: spec.rules[0].http.paths[4]: Prefix "/" is a catch-all: it routes /metrics, /readyz, /healthz to the internet; route only the bot's public paths (Exact /slack/events, /slack/interactive, /slack/commands, /slack/options, and webhooks: Prefix /hooks)`},
		{name: "ingress ALB wildcard", changes: append(useALB(t), change{albIngress, "path: /hooks\n            pathType: Prefix", "path: /*z\n            pathType: ImplementationSpecific"}),
			want: devDir + `: Ingress/hello: spec.rules[0].http.paths[4]: ImplementationSpecific "/*z" routes /readyz, /healthz to the internet; it serves the cluster only`},
		{name: "ingress other path", changes: append(useALB(t), change{albIngress, "path: /slack/events\n            pathType: Exact", "path: /slack\n            pathType: Prefix"}),
			want: devDir + `: Ingress/hello: spec.rules[0].http.paths[0]: Prefix "/slack" is not one of a bot's public paths (Exact /slack/events, /slack/interactive, /slack/commands, /slack/options, and webhooks: Prefix /hooks)`},
		{name: "ingress other backend", changes: append(useALB(t), change{devKust, "        value: hello-dev.bots.example.com\n", "        value: hello-dev.bots.example.com\n      - op: replace\n        path: /spec/rules/0/http/paths/1/backend/service/name\n        value: ansible\n"}),
			want: devDir + `: Ingress/hello: spec.rules[0].http.paths[1].backend: want the bot's own Service "hello"`},
		{name: "ingress default backend", changes: append(useALB(t), change{albIngress, "  ingressClassName: alb\n", "  ingressClassName: alb\n  defaultBackend:\n    service:\n      name: bot\n      port:\n        name: http\n"}),
			want: devDir + `: Ingress/hello: spec.defaultBackend: a catch-all: it routes every path, /metrics, /readyz, /healthz included, to the internet; route only the bot's public paths`},

		// manifests/.
		{name: "appset path", changes: []change{{appsetDev, "bots/*/manifests/envs/dev", "bots/*/manifest/envs/dev"}},
			want: `manifests: ApplicationSet/argocd/bots-dev: spec.generators[0].git.directories[0].path: "bots/*/manifest/envs/dev" matches no directory`},
		{name: "overlay without appset", changes: []change{{appsetDev, "bots/*/manifests/envs/dev", "bots/*/manifests/envs/prd"}},
			want: devDir + ": no ApplicationSet in manifests/ generates an Application for this overlay"},
		{name: "appset namespace", changes: []change{{appsetPrd, "namespace: infra-bot-prd", "namespace: infra-bot-dev"}},
			want: `manifests: ApplicationSet/argocd/bots-prd: spec.template.spec.destination.namespace: "infra-bot-dev", want "infra-bot-prd" (botfleet.yaml environments.prd.namespace)`},
		{name: "appset name", changes: []change{{appsetDev, "name: '{{index .path.segments 1}}-dev'", "name: '{{.path.basename}}-dev'"}},
			want: `manifests: ApplicationSet/argocd/bots-dev: spec.template.metadata.name: renders "dev-dev" for bots/hello/manifests/envs/dev, want "hello-dev"`},
		{name: "appset template error", changes: []change{{appsetDev, "path: '{{.path.path}}'", "path: '{{.path.dir}}'"}},
			want: "…spec.template.spec.source.path: template: :1:7: executing \"\" at <.path.dir>: map has no entry for key \"dir\""},
		{name: "prd automated", changes: []change{{appsetPrd, "        namespace: infra-bot-prd\n", "        namespace: infra-bot-prd\n      syncPolicy:\n        automated: {}\n"}},
			want: "manifests: ApplicationSet/argocd/bots-prd: spec.template.spec.syncPolicy.automated: prd syncs by hand: remove it"},
		{name: "prd deletes", changes: []change{{appsetPrd, "    applicationsSync: create-update\n", ""}},
			want: "manifests: ApplicationSet/argocd/bots-prd: spec.syncPolicy: want applicationsSync create-update and preserveResourcesOnDeletion true: removing a bot's directory must not delete it from prd"},
		{name: "dev not self-healing", changes: []change{{appsetDev, "          selfHeal: true\n", ""}},
			want: "manifests: ApplicationSet/argocd/bots-dev: spec.template.spec.syncPolicy.automated: want prune and selfHeal: dev follows Git by itself"},
		{name: "missingkey", changes: []change{{appsetDev, "  goTemplateOptions:\n    - missingkey=error\n", ""}},
			want: "manifests: ApplicationSet/argocd/bots-dev: spec.goTemplateOptions: want missingkey=error, so a typo fails instead of rendering empty"},
		{name: "templated project", changes: []change{{appsetDev, "      project: botfleet-dev\n", "      project: '{{index .path.segments 1}}'\n"}},
			want: "manifests: ApplicationSet/argocd/bots-dev: spec.template.spec.project: templated: a generated Application's project must be fixed"},
		{name: "project source repos", changes: []change{{"manifests/argocd/projects.yaml", "  sourceRepos:\n    - https://github.com/botfleet/botfleet.git\n", "  sourceRepos:\n    - https://github.com/other/botfleet.git\n"}},
			want: "…spec.sourceRepos: lacks https://github.com/botfleet/botfleet.git (botfleet.yaml git.repoURL)"},
		{name: "EFS access mode", changes: []change{{"manifests/efs/dev.yaml", "  accessModes:\n    - ReadWriteMany\n  persistentVolumeReclaimPolicy", "  accessModes:\n    - ReadWriteOnce\n  persistentVolumeReclaimPolicy"}},
			want: "manifests: PersistentVolume/botfleet-efs-dev: spec.accessModes: want ReadWriteMany: every bot of the environment mounts it"},
		{name: "EFS claimRef name", changes: []change{{"manifests/efs/dev.yaml", "    name: botfleet-efs\n---", "    name: efs\n---"}},
			want: `manifests: PersistentVolume/botfleet-efs-dev: spec.claimRef.name: "efs", want "botfleet-efs"`},
		{name: "goTemplate", changes: []change{{appsetDev, "goTemplate: true", "goTemplate: false"}},
			want: "manifests: ApplicationSet/argocd/bots-dev: spec.goTemplate: want true: the templates use Go template syntax"},
		{name: "appset repo", changes: []change{{appsetDev, "repoURL: https://github.com/botfleet/botfleet.git", "repoURL: https://github.com/other/botfleet.git"}},
			want: `manifests: ApplicationSet/argocd/bots-dev: spec.generators[0].git.repoURL: "https://github.com/other/botfleet.git", want "https://github.com/botfleet/botfleet.git" (botfleet.yaml git.repoURL)`},
		{name: "Argo CD CRD schema", changes: []change{{appsetDev, "selfHeal: true", "selfheal: true"}},
			want: "manifests: ApplicationSet/argocd/bots-dev: spec.template.spec.syncPolicy.automated.selfheal: unknown field"},
		{name: "Argo CD enum", changes: []change{{appsetPrd, "applicationsSync: create-update", "applicationsSync: create-updat"}},
			want: "…spec.syncPolicy.applicationsSync: create-updat is not one of create-only, create-update, create-delete, sync"},
		{name: "root app path", changes: []change{{"manifests/argocd/root.yaml", "path: manifests", "path: manifest"}},
			want: `manifests: Application/argocd/botfleet: spec.source.path: "manifest" holds no kustomization`},
		{name: "root app revision", changes: []change{{"manifests/argocd/root.yaml", "targetRevision: main", "targetRevision: HEAD"}},
			want: `manifests: Application/argocd/botfleet: spec.source.targetRevision: "HEAD", want "main" (botfleet.yaml git.revision)`},
		{name: "root app project kinds", changes: []change{{projects, "      name: botfleet-efs-dev\n", "      name: botfleet-efs-stg\n"}},
			want: "manifests: PersistentVolume/botfleet-efs-dev: AppProject botfleet-platform does not permit PersistentVolume botfleet-efs-dev (its clusterResourceWhitelist names each object): Argo CD would refuse to sync it"},
		{name: "project destinations", changes: []change{{projects, "      namespace: infra-bot-prd\n", "      namespace: infra-bot-stg\n"}},
			want: "manifests: AppProject/argocd/botfleet-prd: spec.destinations: lacks namespace infra-bot-prd (botfleet.yaml environments.prd)"},

		// AppProjects allow no more than their Applications hold (issue 14).
		{name: "platform allows ConfigMaps, in argocd too", changes: []change{{projects, "    - group: \"\"\n      kind: PersistentVolumeClaim\n", "    - group: \"\"\n      kind: PersistentVolumeClaim\n    - group: \"\"\n      kind: ConfigMap\n"}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.namespaceResourceWhitelist[1]: ConfigMap: this project deploys into argocd, and Argo CD allows a namespaced kind in every destination, by kind alone, where a ConfigMap (argocd-rbac-cm) or a Secret changes Argo CD itself; allow only AppProject.argoproj.io, Application.argoproj.io, ApplicationSet.argoproj.io, PersistentVolumeClaim, and give ConfigMap a project without argocd"},
		{name: "platform allows a kind it no longer holds", changes: []change{{"manifests/kustomization.yaml", "  - efs/dev.yaml\n  - efs/prd.yaml\n", ""}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.namespaceResourceWhitelist[0]: allows PersistentVolumeClaim, which its Applications do not hold"},
		{name: "platform allows every Namespace", changes: []change{{projects, "      kind: Namespace\n      name: infra-bot-dev\n", "      kind: Namespace\n"}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.clusterResourceWhitelist[0]: no name: allows every Namespace; name each one its Applications hold (Argo CD matches the names of cluster-scoped objects)"},
		{name: "platform allows Namespaces by pattern", changes: []change{{projects, "      name: infra-bot-dev\n", "      name: infra-bot-*\n"}},
			want: `manifests: AppProject/argocd/botfleet-platform: spec.clusterResourceWhitelist[0]: Namespace "infra-bot-*" is a pattern: name each object`},
		{name: "platform allows a Namespace it does not hold", changes: []change{{projects, "      kind: Namespace\n      name: infra-bot-prd\n", "      kind: Namespace\n      name: infra-bot-prd\n    - group: \"\"\n      kind: Namespace\n      name: kube-system\n"}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.clusterResourceWhitelist[2]: allows Namespace kube-system, which its Applications do not hold"},
		{name: "platform allows a namespace it deploys nothing into", changes: []change{{projects, "      namespace: argocd\n    - server", "      namespace: argocd\n    - server: https://kubernetes.default.svc\n      namespace: kube-system\n    - server"}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.destinations[1]: namespace kube-system: its Applications deploy nothing there; allow only what they hold"},
		{name: "platform without a namespace whitelist", changes: []change{{projects, "  namespaceResourceWhitelist:\n    - group: \"\"\n      kind: PersistentVolumeClaim\n    - group: argoproj.io\n      kind: AppProject\n    - group: argoproj.io\n      kind: Application\n    - group: argoproj.io\n      kind: ApplicationSet\n", ""}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.namespaceResourceWhitelist: missing, so every namespaced kind is allowed, in argocd too (argocd-rbac-cm, cluster Secrets): list the kinds"},
		{name: "Applications from other namespaces", changes: []change{{projects, "  description: botfleet's cluster side", "  sourceNamespaces: [\"*\"]\n  description: botfleet's cluster side"}},
			want: "manifests: AppProject/argocd/botfleet-platform: spec.sourceNamespaces: [*]: lets Applications outside argocd use this project; botfleet's live in argocd only"},
		{name: "repo pattern", changes: []change{{projects, "  sourceRepos:\n    - https://github.com/botfleet/botfleet.git\n", "  sourceRepos:\n    - https://github.com/botfleet/*\n"}},
			want: `manifests: AppProject/argocd/botfleet-dev: spec.sourceRepos[0]: "https://github.com/botfleet/*" is a pattern: name the repo, https://github.com/botfleet/botfleet.git`},
		{name: "add-ons allow a Namespace they do not hold", changes: []change{{projects, "      name: aws-observability\n", "      name: kube-system\n"}},
			want: "manifests: AppProject/argocd/botfleet-addons: spec.clusterResourceWhitelist[0]: allows Namespace kube-system, which its Applications do not hold"},
		{name: "an unused project", changes: []change{{projects, "kind: AppProject\nmetadata:\n  name: botfleet-addons\n", "kind: AppProject\nmetadata:\n  name: botfleet-extras\n"}},
			want: "manifests: AppProject/argocd/botfleet-extras: no Application or ApplicationSet in manifests/ uses it: remove it (and from the cluster: kubectl -n argocd delete appproject botfleet-extras)"},

		// The ECR lifecycle policy never expires an image an overlay names (issue 14).
		{name: "lifecycle: the last 100 images of any tag", changes: []change{{ecrPolicy, "", oldPolicy}, {prdKust, `newTag: "0000000"`, `newTag: "1111111"`}},
			want: ".github/ecr-lifecycle-policy.json: bot hello: expires the image prd runs (tag 1111111), in a history of 21 promotions 250 releases apart, then 1000 releases: keep the images tagged prd-<tag> by a rule of higher priority than the others"},
		{name: "lifecycle: prd and dev on one image", changes: []change{{ecrPolicy, "", oldPolicy}},
			want: ".github/ecr-lifecycle-policy.json: bot hello: expires the image prd and dev run (tag 0000000), in a history of 21 promotions 250 releases apart, then 1000 releases: keep the images tagged prd-<tag> by a rule of higher priority than the others"},
		{name: "lifecycle: too few promoted images kept", changes: []change{{ecrPolicy, `"countNumber": 10000`, `"countNumber": 10`}},
			want: ".github/ecr-lifecycle-policy.json: bot hello: expires an image promoted earlier, which reverting a promotion rolls back to, in a history of 21 promotions 250 releases apart, then 1000 releases: keep the images tagged prd-<tag> by a rule of higher priority than the others"},
		{name: "lifecycle: a prefix the promotions do not use", changes: []change{{ecrPolicy, `"tagPrefixList": ["prd-"]`, `"tagPrefixList": ["prod-"]`}, {prdKust, `newTag: "0000000"`, `newTag: "1111111"`}},
			want: "…bot hello: expires the image prd runs (tag 1111111), in a history"},
		{name: "lifecycle: ECR would refuse it", changes: []change{{ecrPolicy, `"rulePriority": 1,`, `"rulePriority": 3,`}},
			want: ".github/ecr-lifecycle-policy.json: rules[1]: tagStatus any must have the highest rulePriority; rules[0] has 3"},
		{name: "lifecycle: missing", remove: []string{ecrPolicy},
			want: ".github/ecr-lifecycle-policy.json: missing: every bot's ECR repository gets this lifecycle policy (its Repository in manifests/platform/aws)"},

		// The release's credentials in the protected environment only; code owners (issue 14).
		{name: "bump without the environment", changes: []change{{releaseWF, "    # DEPLOY_KEY lives in this environment, which only main may use.\n    environment: release\n", ""}},
			want: "…: jobs.bump: uses the secret DEPLOY_KEY without `environment: release`: only that environment's jobs get them, and only on main"},
		{name: "build without the environment", changes: []change{{releaseWF, "    # (repo:<owner>/<repo>:environment:release), and only main may use it.\n    environment: release\n", "\n"}},
			want: "…: jobs.build: uses the role botfleet-github-release without `environment: release`"},
		{name: "promote in another environment", changes: []change{{promoteWF, "    environment: release\n", "    environment: prd\n"}},
			want: "…: jobs.promote: uses the secret DEPLOY_KEY in environment \"prd\": want release, the one only main may use"},
		{name: "a CI job with the deploy key", changes: []change{{ciWF, "      - id: changed\n", "      - id: changed\n        env:\n          KEY: ${{ secrets.DEPLOY_KEY }}\n"}},
			want: "…: jobs.changed: uses the secret DEPLOY_KEY without `environment: release`"},
		{name: "no CODEOWNERS", remove: []string{codeOwnersFile},
			want: `.github/CODEOWNERS: missing: manifests/, .github/, botfleet.yaml need code owners, whose review main's protection requires ("Require review from Code Owners"); a merge there reaches the cluster or the release pipeline`},
		{name: "manifests without an owner", changes: []change{{codeOwnersFile, "/manifests/     @botfleet/platform\n", ""}},
			want: "….github/CODEOWNERS: manifests/ has no code owner (manifests/"},
		{name: "settings without an owner", changes: []change{{codeOwnersFile, "/botfleet.yaml  @botfleet/platform\n", ""}},
			want: ".github/CODEOWNERS: botfleet.yaml has no code owner (botfleet.yaml: no line matches it): add a line /botfleet.yaml @<team>"},
		{name: "projects un-owned by a later line", changes: []change{{codeOwnersFile, "/botfleet.yaml  @botfleet/platform\n", "/botfleet.yaml  @botfleet/platform\n/manifests/argocd/\n"}},
			want: "…/monitoring.yaml, …: line 11, \"/manifests/argocd/\", the last to match, names no owner): add a line /manifests/ @<team>"},
		{name: "a line GitHub would skip", changes: []change{{codeOwnersFile, "/.github/       @botfleet/platform", "/.github/       botfleet/platform"}},
			want: `.github/CODEOWNERS: line 9: owner "botfleet/platform": want @user, @org/team or an email address`},

		// One project per environment: dev's Applications sync by themselves (issue 14).
		{name: "dev project with a prd destination", changes: []change{{projects, "      namespace: infra-bot-dev\n  clusterResourceWhitelist: []\n", "      namespace: infra-bot-dev\n    - server: https://kubernetes.default.svc\n      namespace: infra-bot-prd\n  clusterResourceWhitelist: []\n"}},
			want: "manifests: AppProject/argocd/botfleet-dev: spec.destinations: permits namespace infra-bot-prd, prd's: the Applications of dev (ApplicationSet bots-dev) could write into it"},
		{name: "dev project by pattern", changes: []change{{projects, "      namespace: infra-bot-dev\n  clusterResourceWhitelist: []\n", "      namespace: infra-bot-*\n  clusterResourceWhitelist: []\n"}},
			want: "manifests: AppProject/argocd/botfleet-dev: spec.destinations: permits namespace infra-bot-prd, prd's: the Applications of dev (ApplicationSet bots-dev) could write into it"},
		{name: "one project for both environments", changes: []change{{appsetPrd, "      project: botfleet-prd\n", "      project: botfleet-dev\n"}},
			want: "manifests: AppProject/argocd/botfleet-dev: used by the Applications of dev and prd (ApplicationSet bots-dev, ApplicationSet bots-prd): each environment's bots have a project of their own, so that one environment's Applications cannot write into another's namespace"},
		{name: "prd's ApplicationSet in another project", changes: []change{{appsetPrd, "      project: botfleet-prd\n", "      project: botfleet-platform\n"}},
			want: `manifests: ApplicationSet/argocd/bots-prd: spec.template.spec.project: "botfleet-platform", want "botfleet-prd": each environment's bots have a project of their own (botfleet.yaml argocd.project, then -prd)`},
		{name: "bots project with a cluster-scoped kind", changes: []change{{projects, "  clusterResourceWhitelist: []\n", "  clusterResourceWhitelist:\n    - group: \"\"\n      kind: Namespace\n      name: infra-bot-dev\n"}},
			want: "manifests: AppProject/argocd/botfleet-dev: spec.clusterResourceWhitelist: a bot's overlay holds no cluster-scoped object: want none"},
		{name: "Argo CD namespace", changes: []change{{"manifests/argocd/root.yaml", "namespace: argocd\nspec", "namespace: default\nspec"}},
			want: `manifests: Application/default/botfleet: metadata.namespace: "default", want "argocd" (botfleet.yaml argocd.namespace)`},
		{name: "EFS volume handle", changes: []change{{"manifests/efs/prd.yaml", "fsap-0fedcba9876543210", "fsap-0123456789abcdef0"}},
			want: `manifests: PersistentVolume/botfleet-efs-prd: spec.csi.volumeHandle: "fs-0123456789abcdef0::fsap-0123456789abcdef0", want "fs-0123456789abcdef0::fsap-0fedcba9876543210" (botfleet.yaml environments.prd.efs)`},
		{name: "EFS claim binding", changes: []change{{"manifests/efs/dev.yaml", "volumeName: botfleet-efs-dev", "volumeName: botfleet-efs-prd"}},
			want: `manifests: PersistentVolumeClaim/infra-bot-dev/botfleet-efs: spec.volumeName: "botfleet-efs-prd", want "botfleet-efs-dev", the PersistentVolume bound to it`},
		{name: "EFS volume missing", changes: []change{{"manifests/kustomization.yaml", "  - efs/prd.yaml\n", ""}},
			want: "manifests: infra-bot-prd: want one PersistentVolume bound to claim botfleet-efs, found 0"},
		{name: "Pod Security version", changes: []change{{"manifests/namespaces.yaml", "enforce-version: v1.34", "enforce-version: v1.30"}},
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: pod-security.kubernetes.io/enforce-version is "v1.30", want "v1.34" (botfleet.yaml kubernetes.version) or latest`},
		{name: "Pod Security warn version", changes: []change{{"manifests/namespaces.yaml", "warn-version: latest", "warn-version: v1.33"}},
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: pod-security.kubernetes.io/warn-version is "v1.33", want "v1.34" (botfleet.yaml kubernetes.version) or latest`},
		{name: "Pod Security level", changes: []change{{"manifests/namespaces.yaml", "enforce: restricted", "enforce: baseline"}},
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: pod-security.kubernetes.io/enforce is "baseline", want restricted: the bots' namespaces enforce it, and warn and audit at it so that kubectl and the audit log show what a newer standard refuses`},
		{name: "Pod Security no warn", changes: []change{{"manifests/namespaces.yaml", "    pod-security.kubernetes.io/warn: restricted\n", ""}},
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: pod-security.kubernetes.io/warn is "", want restricted: the bots' namespaces enforce it, and warn and audit at it so that kubectl and the audit log show what a newer standard refuses`},
		{name: "Pod Security audit level", changes: []change{{"manifests/namespaces.yaml", "audit: restricted", "audit: privileged"}},
			want: `manifests: Namespace/infra-bot-dev: metadata.labels: pod-security.kubernetes.io/audit is "privileged", want restricted: the bots' namespaces enforce it, and warn and audit at it so that kubectl and the audit log show what a newer standard refuses`},
		{name: "logging region", changes: []change{{"manifests/addons/fargate-logging/aws-observability.yaml", "region eu-west-1", "region us-east-1"}},
			want: `manifests/addons/fargate-logging: ConfigMap/aws-observability/aws-logging: data["output.conf"]: region is us-east-1, want eu-west-1 (botfleet.yaml aws.region)`},
		{name: "alert duration", changes: []change{{"manifests/addons/monitoring/prd.yaml", "for: 10m", "for: ten minutes"}},
			want: `manifests/addons/monitoring: PrometheusRule/infra-bot-prd/botfleet-bots: spec.groups[0].rules[0].for: "ten minutes" is not a Prometheus duration like 10m`},
		{name: "AlertmanagerConfig strict", changes: []change{{"manifests/addons/monitoring/alerts-receiver.yaml", "sendResolved: true", "sendResolve: true"}},
			want: "manifests/addons/monitoring: AlertmanagerConfig/infra-bot-dev/alerts-bot: spec.receivers[0].webhookConfigs[0].sendResolve: unknown field"},
		{name: "AlertmanagerConfig receiver", changes: []change{{"manifests/addons/monitoring/alerts-receiver.yaml", "    receiver: alerts-bot\n", "    receiver: alerts\n"}},
			want: `manifests/addons/monitoring: AlertmanagerConfig/infra-bot-dev/alerts-bot: spec.route.receiver: want one of the receivers ["alerts-bot"]`},
		{name: "AlertmanagerConfig without a token", changes: []change{{"manifests/addons/monitoring/alerts-receiver.yaml", "          httpConfig:\n            authorization:\n              type: Bearer\n              credentials:\n                name: alerts-webhook\n                key: ALERTS_WEBHOOK_TOKEN\n", ""}},
			want: "manifests/addons/monitoring: AlertmanagerConfig/infra-bot-dev/alerts-bot: spec.receivers[0].webhookConfigs[0].httpConfig.authorization.credentials: missing: a bot's webhook refuses requests without its token (401)"},
		{name: "AlertmanagerConfig token nothing makes", changes: []change{{"manifests/addons/monitoring/alerts-receiver.yaml", "                name: alerts-webhook\n", "                name: alerts-webhok\n"}},
			want: `manifests/addons/monitoring: AlertmanagerConfig/infra-bot-dev/alerts-bot: spec.receivers[0].webhookConfigs[0].httpConfig.authorization.credentials: Secret "alerts-webhok": nothing in infra-bot-dev makes it; the bot's overlay makes it with an ExternalSecret from its secret in AWS Secrets Manager (botctl secrets put)`},
		{name: "AlertmanagerConfig token's key", changes: []change{{"manifests/addons/monitoring/alerts-receiver.yaml", "                key: ALERTS_WEBHOOK_TOKEN\n", "                key: TOKEN\n"}},
			want: `manifests/addons/monitoring: AlertmanagerConfig/infra-bot-dev/alerts-bot: spec.receivers[0].webhookConfigs[0].httpConfig.authorization.credentials: Secret "alerts-webhook" has no key "TOKEN" (its ExternalSecret makes ["ALERTS_WEBHOOK_TOKEN"])`},
		{name: "webhook ExternalSecret of another secret", changes: []change{{"bots/alerts/manifests/envs/dev/external-secret.yaml", "        key: botfleet/dev/alerts\n        property:", "        key: botfleet/dev/hello\n        property:"}},
			want: `bots/alerts/manifests/envs/dev: ExternalSecret/alerts-webhook: spec.data[0].remoteRef.key: "botfleet/dev/hello", want "botfleet/dev/alerts": the secret botctl secrets put writes for this bot and environment`},

		// Secrets from AWS Secrets Manager through the External Secrets Operator.
		{name: "ExternalSecret against its CRD", changes: []change{{dev + "external-secret.yaml", "  refreshInterval: 1m", "  refreshIntervall: 1m"}},
			want: devDir + ": ExternalSecret/hello-slack: spec.refreshIntervall: unknown field"},
		{name: "SecretStore enum", changes: []change{{dev + "external-secret.yaml", "service: SecretsManager", "service: SecretManager"}},
			want: "…SecretStore/hello-secrets: spec.provider.aws.service: "},
		{name: "no ExternalSecret", changes: []change{{devKust, "  - external-secret.yaml\n", ""}},
			want: devDir + `: no ExternalSecret "hello-slack": the bot's tokens come from AWS Secrets Manager (botfleet/dev/hello, botctl secrets put) through one; add external-secret.yaml as botctl new writes it`},
		{name: "store signs in as the bot", changes: []change{{dev + "external-secret.yaml", "          serviceAccountRef:\n            name: hello.secrets", "          serviceAccountRef:\n            name: hello"}},
			want: devDir + `: SecretStore/hello-secrets: spec.provider.aws.auth.jwt.serviceAccountRef.name: "hello" is the bot's own ServiceAccount: the store needs its own, "hello.secrets", so that the bot's role never reads Secrets Manager`},
		{name: "another env's secret", changes: []change{{dev + "external-secret.yaml", "key: botfleet/dev/hello", "key: botfleet/prd/hello"}},
			want: devDir + `: ExternalSecret/hello-slack: spec.dataFrom: want one extract of "botfleet/dev/hello": the secret botctl secrets put writes for this bot and environment`},
		{name: "never refreshed", changes: []change{{dev + "external-secret.yaml", "refreshInterval: 1m", "refreshInterval: \"0\""}},
			want: devDir + `: ExternalSecret/hello-slack: spec.refreshInterval: "0" never refreshes: a rotated token would never reach the bot; use 1m`},
		{name: "store in another region", changes: []change{{dev + "external-secret.yaml", "region: eu-west-1", "region: us-east-1"}},
			want: devDir + `: SecretStore/hello-secrets: spec.provider.aws.region: "us-east-1", want "eu-west-1" (botfleet.yaml aws.region)`},
		{name: "store's role", changes: []change{{dev + "external-secret.yaml", "role/botfleet-external-secrets-dev", "role/botfleet-hello-dev"}},
			want: devDir + `: ServiceAccount/hello.secrets: metadata.annotations["eks.amazonaws.com/role-arn"]: "arn:aws:iam::123456789012:role/botfleet-hello-dev", want "arn:aws:iam::123456789012:role/botfleet-external-secrets-dev" (the environment's External Secrets role, made at the bootstrap): run ` + "`botctl init`"},
		{name: "Secret not mounted", changes: []change{{deploy, "            - name: slack\n              mountPath: /var/run/secrets/botfleet\n              readOnly: true\n", ""}},
			want: devDir + `: Deployment/hello: spec.template.spec.containers[0]: want the volume "slack" mounted (without subPath, which the kubelet never refreshes) at the path BOT_SECRETS_DIR names`},
		{name: "project lacks ExternalSecret", changes: []change{{projects, "    - group: external-secrets.io\n      kind: ExternalSecret\n", ""}},
			want: devDir + ": ExternalSecret/hello-slack: AppProject botfleet-dev does not permit kind ExternalSecret (its namespaceResourceWhitelist): Argo CD would refuse to sync it"},
		{name: "operator webhook on Fargate's kubelet port", changes: []change{{ESOValuesFile, "port: 9443", "port: 10250"}},
			want: ESOValuesFile + ": webhook.port 10250: the chart's default 10250 is Fargate's kubelet port, which the webhook cannot bind on Fargate; set webhook.port: 9443"},
		{name: "operator without a Fargate profile", changes: []change{{"manifests/README.md", "", "aws eks create-fargate-profile --selectors namespace=infra-bot-dev\n"}},
			want: "manifests/README.md: the bootstrap creates no Fargate profile for namespace external-secrets (aws eks create-fargate-profile ... --selectors namespace=external-secrets): the operator's pods would stay Pending"},
		// The bots' AWS resources from the code (issue 19): generated, checked for drift and against the ACK CRDs.
		{name: "an iam.yaml changed without botctl init", changes: []change{{"bots/hello/iam.yaml", "", "actions: [ecs:ListServices]\n"}},
			want: "manifests/platform/aws/hello.yaml: differs from what botfleet.yaml and the bots' iam.yaml make (edit those, not this file): run `botctl init`, then commit"},
		{name: "a removed bot's objects", changes: []change{{"manifests/platform/aws/gone.yaml", "", "# gone\n"}},
			want: "manifests/platform/aws/gone.yaml: generated by nothing (a removed bot's?): run `botctl init`, then commit"},
		{name: "a new boundary in the settings", changes: []change{{"botfleet.yaml", "policy/botfleet-bot-boundary", "policy/other-boundary"}},
			want: "manifests/bootstrap/iam/ack-iam-controller.policy.json: differs from what botfleet.yaml and the bots' iam.yaml make (edit those, not this file): run `botctl init`, then commit"},
		{name: "Repository against its CRD", changes: []change{{"manifests/platform/aws/hello.yaml", "scanOnPush: true", "scanOnPush: yes please"}},
			want: `manifests/platform/aws: Repository/botfleet-aws/botfleet-hello: spec.imageScanningConfiguration.scanOnPush: want true or false, got string "yes please"`},
		{name: "the ACK project allows another kind", changes: []change{{projects, "    - group: ecr.services.k8s.aws\n      kind: Repository\n", "    - group: ecr.services.k8s.aws\n      kind: Repository\n    - group: \"\"\n      kind: ConfigMap\n"}},
			want: "manifests: AppProject/argocd/botfleet-aws: spec.namespaceResourceWhitelist[2]: ConfigMap: this project allows only Role.iam.services.k8s.aws, Repository.ecr.services.k8s.aws"},
		{name: "the ACK project in another namespace", changes: []change{{projects, "      namespace: botfleet-aws\n", "      namespace: infra-bot-dev\n"}},
			want: `manifests: AppProject/argocd/botfleet-aws: spec.destinations[0].namespace: "infra-bot-dev": the ACK objects live in botfleet-aws only, the one namespace the controllers watch`},
		{name: "a role annotated that no iam.yaml makes", changes: []change{{base + "serviceaccount.yaml", "    app.kubernetes.io/part-of: botfleet\n", "    app.kubernetes.io/part-of: botfleet\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/botfleet-hello-dev\n"}},
			want: "…ServiceAccount/hello: metadata.annotations[\"eks.amazonaws.com/role-arn\"]: arn:aws:iam::123456789012:role/botfleet-hello-dev: no role is made without bots/hello/iam.yaml: declare the actions its calls need there, then run `botctl init`"},
		{name: "an iam.yaml whose role nothing annotates", changes: []change{{"bots/hello/iam.yaml", "", "actions: [ecs:ListServices]\n"}},
			want: devDir + ": ServiceAccount/hello: metadata.annotations: no eks.amazonaws.com/role-arn, but bots/hello/iam.yaml declares AWS actions: run `botctl init`, which writes bots/hello/manifests/envs/dev/serviceaccount-patch.yaml with arn:aws:iam::123456789012:role/botfleet-hello-dev (its role in manifests/platform/aws/hello.yaml), and list that file under patches in the overlay's kustomization.yaml"},
		// The role annotation is generated (awsplatform.ServiceAccountPatch): an iam.yaml added, or the
		// annotation edited by hand, without botctl init fails naming the file and the fix.
		{name: "an iam.yaml added without botctl init annotates nothing", changes: []change{{"bots/hello/iam.yaml", "", "actions: [ecs:ListServices]\n"}},
			want: "bots/hello/manifests/envs/dev/serviceaccount-patch.yaml: differs from what botfleet.yaml and the bots' iam.yaml make (edit those, not this file): run `botctl init`, then commit"},
		{name: "a role annotation written by hand", changes: []change{{dev + "serviceaccount-patch.yaml", "  name: hello\n", "  name: hello\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/botfleet-hello-dev\n"}},
			want: "bots/hello/manifests/envs/dev/serviceaccount-patch.yaml: differs from what botfleet.yaml and the bots' iam.yaml make (edit those, not this file): run `botctl init`, then commit"},
		{name: "ACK controllers without a Fargate profile", changes: []change{{"manifests/README.md", "", "aws eks create-fargate-profile --selectors namespace=external-secrets\n"}},
			want: "manifests/README.md: the bootstrap creates no Fargate profile for namespace ack-system (aws eks create-fargate-profile ... --selectors namespace=ack-system): the ACK controllers' pods would stay Pending"},
		{name: "ServiceMonitor strict", changes: []change{{"manifests/addons/monitoring/dev.yaml", "interval: 30s", "intervall: 30s"}},
			want: "manifests/addons/monitoring: ServiceMonitor/infra-bot-dev/botfleet-bots: spec.endpoints[0].intervall: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fixture(t)
			for _, c := range tt.changes {
				if c.old == "" {
					write(t, mem, c.file, c.new)
				} else {
					edit(t, mem, c.file, c.old, c.new)
				}
			}
			for _, r := range tt.remove {
				if err := mem.RemoveAll(path.Join(memRoot, r)); err != nil {
					t.Fatal(err)
				}
			}
			problems := runValidator(t, mem)
			var lines []string
			for _, p := range problems {
				s := p.String()
				lines = append(lines, s)
				if s == tt.want || strings.HasPrefix(tt.want, "…") && strings.Contains(s, tt.want[len("…"):]) {
					return
				}
			}
			t.Errorf("no problem %q among:\n%s", tt.want, strings.Join(lines, "\n"))
		})
	}
}

// TestPodSizes checks the sizes Run reports: one per overlay, in path order.
func TestPodSizes(t *testing.T) {
	mem := fixture(t, "big")
	for range 2 {
		edit(t, mem, "bots/big/manifests/envs/prd/deployment-patch.yaml", "cpu: 250m", `cpu: "1"`)
	}
	v := &Validator{FS: mem, Root: memRoot}
	rep, err := v.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Pods {
		got = append(got, p.String())
	}
	want := []string{
		"bots/alerts/manifests/envs/dev: Deployment/alerts: runs on Fargate's 0.25 vCPU, 1 GB (requests cpu 250m, memory 512Mi plus Fargate's 256Mi)",
		"bots/alerts/manifests/envs/dev: Job/alerts-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
		"bots/alerts/manifests/envs/prd: Deployment/alerts: runs on Fargate's 0.25 vCPU, 1 GB (requests cpu 250m, memory 512Mi plus Fargate's 256Mi)",
		"bots/alerts/manifests/envs/prd: Job/alerts-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
		"bots/big/manifests/envs/dev: Deployment/big: runs on Fargate's 0.25 vCPU, 1 GB (requests cpu 250m, memory 512Mi plus Fargate's 256Mi)",
		"bots/big/manifests/envs/dev: Job/big-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
		"bots/big/manifests/envs/prd: Deployment/big: runs on Fargate's 1 vCPU, 2 GB (requests cpu 1, memory 512Mi plus Fargate's 256Mi)",
		"bots/big/manifests/envs/prd: Job/big-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
		"bots/hello/manifests/envs/dev: Deployment/hello: runs on Fargate's 0.25 vCPU, 1 GB (requests cpu 250m, memory 512Mi plus Fargate's 256Mi)",
		"bots/hello/manifests/envs/dev: Job/hello-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
		"bots/hello/manifests/envs/prd: Deployment/hello: runs on Fargate's 0.25 vCPU, 1 GB (requests cpu 250m, memory 512Mi plus Fargate's 256Mi)",
		"bots/hello/manifests/envs/prd: Job/hello-config: runs on Fargate's 0.25 vCPU, 0.5 GB (requests cpu 100m, memory 128Mi plus Fargate's 256Mi)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

// TestSharedEFSDir mounts one directory outside config/ and state/ in two
// bots: each overlay of an environment where both do is refused.
func TestSharedEFSDir(t *testing.T) {
	mem := fixture(t, "other")
	mount := "              subPath: state/hello\n"
	playbooks := mount + "            - name: efs\n              mountPath: /efs/playbooks\n              subPath: playbooks\n"
	edit(t, mem, deploy, mount, playbooks)
	if problems := runValidator(t, mem); len(problems) > 0 {
		t.Fatalf("one bot mounting playbooks: %v, want no problems", problems)
	}
	edit(t, mem, "bots/other/manifests/base/deployment.yaml", strings.ReplaceAll(mount, "hello", "other"),
		strings.ReplaceAll(strings.ReplaceAll(playbooks, "hello", "other"), "playbooks\n", "playbooks/x\n"))
	var got []string
	for _, p := range runValidator(t, mem) {
		got = append(got, p.String())
	}
	want := []string{
		"bots/hello/manifests/envs/dev: mounts playbooks of the EFS volume, and bot other mounts playbooks/x: a directory outside config/ and state/ belongs to one bot",
		"bots/hello/manifests/envs/prd: mounts playbooks of the EFS volume, and bot other mounts playbooks/x: a directory outside config/ and state/ belongs to one bot",
		"bots/other/manifests/envs/dev: mounts playbooks/x of the EFS volume, and bot hello mounts playbooks: a directory outside config/ and state/ belongs to one bot",
		"bots/other/manifests/envs/prd: mounts playbooks/x of the EFS volume, and bot hello mounts playbooks: a directory outside config/ and state/ belongs to one bot",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestNamedBots(t *testing.T) {
	mem := fixture(t, "other")
	edit(t, mem, "bots/other/manifests/base/deployment.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 10")
	if problems := runValidator(t, mem, "hello"); len(problems) != 0 {
		t.Errorf("validate hello: %v, want none (only other is broken)", problems)
	}
	problems := runValidator(t, mem, "other", "nosuch")
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		`bots/nosuch: no bot "nosuch" (the bots are: alerts, hello, other)`,
		"bots/other/manifests/envs/dev: Deployment/other: spec.template.spec.terminationGracePeriodSeconds: 10, want at least 30: botkit lets running commands finish for BOT_GRACE_PERIOD (25s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for",
		"bots/other/manifests/envs/prd: Deployment/other: spec.template.spec.terminationGracePeriodSeconds: 10, want at least 30: botkit lets running commands finish for BOT_GRACE_PERIOD (25s) and needs 5s more to stop; a shorter grace kills commands botkit still waits for",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("validate other nosuch:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSettingsErrorStopsRun(t *testing.T) {
	mem := fixture(t)
	edit(t, mem, "botfleet.yaml", "region: eu-west-1", "region: nowhere")
	v := &Validator{FS: mem, Root: memRoot}
	if _, err := v.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "aws.region") {
		t.Fatalf("Run with bad settings: %v, want an aws.region error", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := &Validator{FS: fixture(t), Root: memRoot}
	if _, err := v.Run(ctx, nil); err == nil {
		t.Fatal("Run with a cancelled context: no error")
	}
}
