package validate

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// FargateSize is one of the CPU and memory combinations EKS runs a Fargate
// pod on.
type FargateSize struct {
	MilliCPU  int64 // 250 is 0.25 vCPU
	MemoryMiB int64 // Fargate's GB is 1024 MiB
}

func (s FargateSize) String() string {
	return strconv.FormatFloat(float64(s.MilliCPU)/1000, 'f', -1, 64) + " vCPU, " +
		strconv.FormatFloat(float64(s.MemoryMiB)/1024, 'f', -1, 64) + " GB"
}

// fargateOverhead is the memory, in bytes, Fargate adds to every pod's
// requests for its own kubelet, kube-proxy and containerd.
const fargateOverhead = 256 << 20

// fargateSizes are EKS Fargate's combinations, smallest first ("Fargate Pod
// configuration" in the EKS user guide): 0.25 vCPU with 0.5, 1 or 2 GB;
// 0.5 vCPU 1–4 GB; 1 vCPU 2–8 GB; 2 vCPU 4–16 GB; 4 vCPU 8–30 GB, in 1 GB
// steps; 8 vCPU 16–60 GB in 4 GB steps; 16 vCPU 32–120 GB in 8 GB steps.
var fargateSizes = func() []FargateSize {
	sizes := []FargateSize{{250, 512}, {250, 1024}, {250, 2048}}
	for _, r := range []struct{ milliCPU, fromGB, toGB, stepGB int64 }{
		{500, 1, 4, 1}, {1000, 2, 8, 1}, {2000, 4, 16, 1}, {4000, 8, 30, 1},
		{8000, 16, 60, 4}, {16000, 32, 120, 8},
	} {
		for gb := r.fromGB; gb <= r.toGB; gb += r.stepGB {
			sizes = append(sizes, FargateSize{r.milliCPU, gb * 1024})
		}
	}
	return sizes
}()

// fargatePod is what Fargate makes of a pod's requests.
type fargatePod struct {
	CPU, Memory resource.Quantity // the pod's requests, as Fargate adds them up
	Size        FargateSize       // what it runs on; zero when none fits
}

// fargateSizeOf works out a pod's Fargate size as EKS does: the larger of the
// largest init container's requests and the sum of the long-running
// containers' (sidecars included), plus 256 MiB of memory, rounded up to the
// smallest combination that holds both. A request left out defaults to the
// limit, as the API server defaults it.
func fargateSizeOf(spec *corev1.PodSpec) fargatePod {
	var p fargatePod
	var initCPU, initMem resource.Quantity
	request := func(c *corev1.Container, name corev1.ResourceName) resource.Quantity {
		if q, ok := c.Resources.Requests[name]; ok {
			return q
		}
		return c.Resources.Limits[name]
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		cpu, mem := request(c, corev1.ResourceCPU), request(c, corev1.ResourceMemory)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			p.CPU.Add(cpu) // a sidecar runs as long as the pod
			p.Memory.Add(mem)
			continue
		}
		if cpu.Cmp(initCPU) > 0 {
			initCPU = cpu
		}
		if mem.Cmp(initMem) > 0 {
			initMem = mem
		}
	}
	for i := range spec.Containers {
		p.CPU.Add(request(&spec.Containers[i], corev1.ResourceCPU))
		p.Memory.Add(request(&spec.Containers[i], corev1.ResourceMemory))
	}
	if initCPU.Cmp(p.CPU) > 0 {
		p.CPU = initCPU
	}
	if initMem.Cmp(p.Memory) > 0 {
		p.Memory = initMem
	}
	need := p.Memory.Value() + fargateOverhead
	for _, s := range fargateSizes {
		if p.CPU.MilliValue() <= s.MilliCPU && need <= s.MemoryMiB<<20 {
			p.Size = s
			break
		}
	}
	return p
}

// requests says what the pod asks for, for a message.
func (p fargatePod) requests() string {
	return fmt.Sprintf("cpu %s, memory %s plus Fargate's %s", quantity(p.CPU), quantity(p.Memory), resource.NewQuantity(fargateOverhead, resource.BinarySI))
}

func quantity(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	return q.String()
}
