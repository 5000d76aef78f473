package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The top directories of an environment's EFS volume that hold a directory
// per bot, <dir>/<bot>: its config (read-only in its pod) and its state.
const (
	EFSConfigDir = "config"
	EFSStateDir  = "state"
)

var efsPerBot = []string{EFSConfigDir, EFSStateDir}

// efsMount is a container's mount of the environment's EFS claim.
type efsMount struct {
	corev1.VolumeMount
	field string // the mount's field path
}

// efsMounts returns the mounts of the environment's EFS claim in spec, and
// reports a volume that reaches EFS some other way.
func efsMounts(add addFunc, spec *corev1.PodSpec, field string) []efsMount {
	claim := map[string]bool{}
	for i, v := range spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == EFSClaim:
			claim[v.Name] = true
		case v.CSI != nil && v.CSI.Driver == EFSDriver, v.NFS != nil:
			add(fmt.Sprintf("%s.volumes[%d]", field, i), "volume %q reaches EFS around the claim %s: mount the bot's directories of the claim by subPath", v.Name, EFSClaim)
		}
	}
	var out []efsMount
	eachContainer(spec, field, func(c *corev1.Container, cf string) {
		for j, m := range c.VolumeMounts {
			if claim[m.Name] {
				out = append(out, efsMount{m, fmt.Sprintf("%s.volumeMounts[%d]", cf, j)})
			}
		}
	})
	return out
}

// checkEFSMounts checks a bot's mounts of the environment's EFS volume: each
// one of the bot's own directories, by subPath, at the path it has in the
// volume (so that /efs/config/<bot>/<env>.yaml is the same file in every
// pod and in the docs), its config read-only. It returns the directories
// mounted outside config/ and state/, which cross checks no other bot of the
// environment mounts. The config hook (installer) writes the config.
func checkEFSMounts(add addFunc, bot string, spec *corev1.PodSpec, field string, installer bool) []string {
	var shared []string
	for _, m := range efsMounts(add, spec, field) {
		if m.SubPathExpr != "" {
			add(m.field+".subPathExpr", "%q: want a fixed subPath (%s/%s, %s/%s), which can be checked", m.SubPathExpr, EFSConfigDir, bot, EFSStateDir, bot)
			continue
		}
		dir := path.Clean(m.SubPath)
		switch segs := strings.Split(dir, "/"); {
		case m.SubPath == "" || dir == "." || dir == "/":
			add(m.field, "no subPath: it mounts the whole EFS volume, every bot's config and state; mount %s/%s read-only and %s/%s", EFSConfigDir, bot, EFSStateDir, bot)
			continue
		case path.IsAbs(dir) || segs[0] == "..":
			add(m.field+".subPath", "%q leaves the volume", m.SubPath)
			continue
		case slices.Contains(efsPerBot, segs[0]) && len(segs) == 1:
			add(m.field+".subPath", "%q holds every bot's %s: mount %s/%s", m.SubPath, segs[0], segs[0], bot)
			continue
		case slices.Contains(efsPerBot, segs[0]) && segs[1] != bot:
			add(m.field+".subPath", "%q is bot %s's: a bot mounts only its own directories (%s/%s)", m.SubPath, segs[1], segs[0], bot)
			continue
		case !slices.Contains(efsPerBot, segs[0]):
			shared = append(shared, dir)
		}
		if want := path.Join(EFSMount, dir); m.MountPath != want {
			add(m.field+".mountPath", "%q, want %s, the path %s has in the volume (and in every pod and doc)", m.MountPath, want, dir)
		}
		if strings.HasPrefix(dir, EFSConfigDir+"/") && !m.ReadOnly && !installer {
			add(m.field+".readOnly", "want true: the bot reads its config; the sync hook %s%s installs it from Git", bot, ConfigSuffix)
		}
	}
	return shared
}

// hasConfigMount reports whether c mounts the bot's config directory of the
// environment's EFS claim where BOT_CONFIG's default points.
func hasConfigMount(spec *corev1.PodSpec, c *corev1.Container, bot string) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == path.Join(EFSMount, EFSConfigDir, bot) && path.Clean(m.SubPath) == path.Join(EFSConfigDir, bot) &&
			slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
				return v.Name == m.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == EFSClaim
			})
	})
}

// overlaps reports whether two directories of a volume are one inside the
// other.
func overlaps(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}
