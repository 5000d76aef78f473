package validate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestFargateSizeOf(t *testing.T) {
	res := func(cpu, mem string) corev1.ResourceRequirements {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return corev1.ResourceRequirements{Requests: l, Limits: l}
	}
	app := func(cpu, mem string) corev1.Container { return corev1.Container{Name: "bot", Resources: res(cpu, mem)} }
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name     string
		init     []corev1.Container
		app      []corev1.Container
		want     string // "" when no size fits
		requests string
	}{
		{name: "no requests", app: []corev1.Container{{Name: "bot"}}, want: "0.25 vCPU, 0.5 GB", requests: "cpu 0, memory 0 plus Fargate's 256Mi"},
		{name: "hello", app: []corev1.Container{app("250m", "512Mi")}, want: "0.25 vCPU, 1 GB", requests: "cpu 250m, memory 512Mi plus Fargate's 256Mi"},
		{name: "fills 2 GB", app: []corev1.Container{app("250m", "1792Mi")}, want: "0.25 vCPU, 2 GB"},
		{name: "1 MiB over 2 GB", app: []corev1.Container{app("250m", "1793Mi")}, want: "0.5 vCPU, 3 GB"},
		{name: "decimal units", app: []corev1.Container{app("100m", "500M")}, want: "0.25 vCPU, 1 GB"},
		{name: "the guide's example", app: []corev1.Container{app("1", "8Gi")}, want: "2 vCPU, 9 GB"},
		{name: "4 GB steps", app: []corev1.Container{app("4", "30Gi")}, want: "8 vCPU, 32 GB"},
		{name: "8 GB steps", app: []corev1.Container{app("9", "33Gi")}, want: "16 vCPU, 40 GB"},
		{name: "largest", app: []corev1.Container{app("16", "122624Mi")}, want: "16 vCPU, 120 GB"},
		{name: "too much memory", app: []corev1.Container{app("16", "120Gi")}, requests: "cpu 16, memory 120Gi plus Fargate's 256Mi"},
		{name: "too much cpu", app: []corev1.Container{app("32", "512Mi")}},
		{name: "containers add up", app: []corev1.Container{app("250m", "512Mi"), app("500m", "1Gi")}, want: "1 vCPU, 2 GB", requests: "cpu 750m, memory 1536Mi plus Fargate's 256Mi"},
		{name: "largest init container", init: []corev1.Container{app("2", "1Gi"), app("1", "3Gi")}, app: []corev1.Container{app("250m", "512Mi")}, want: "2 vCPU, 4 GB"},
		{name: "sidecar adds up", init: []corev1.Container{{Name: "proxy", Resources: res("250m", "512Mi"), RestartPolicy: &always}}, app: []corev1.Container{app("250m", "512Mi")}, want: "0.5 vCPU, 2 GB"},
		{name: "limits only", app: []corev1.Container{{Name: "bot", Resources: corev1.ResourceRequirements{Limits: res("1", "2Gi").Limits}}}, want: "1 vCPU, 3 GB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fargateSizeOf(&corev1.PodSpec{InitContainers: tt.init, Containers: tt.app})
			got := ""
			if p.Size != (FargateSize{}) {
				got = p.Size.String()
			}
			if got != tt.want {
				t.Errorf("size %q, want %q", got, tt.want)
			}
			if tt.requests != "" && p.requests() != tt.requests {
				t.Errorf("requests %q, want %q", p.requests(), tt.requests)
			}
		})
	}
}

// TestFargateTable checks the table against the EKS user guide's counts and
// bounds per CPU.
func TestFargateTable(t *testing.T) {
	type tier struct {
		n          int
		minMiB, to int64
	}
	got := map[int64]tier{}
	for i, s := range fargateSizes {
		if i > 0 && (s.MilliCPU < fargateSizes[i-1].MilliCPU || s.MilliCPU == fargateSizes[i-1].MilliCPU && s.MemoryMiB <= fargateSizes[i-1].MemoryMiB) {
			t.Errorf("fargateSizes[%d] %s is out of order", i, s)
		}
		tr := got[s.MilliCPU]
		if tr.n == 0 {
			tr.minMiB = s.MemoryMiB
		}
		tr.n++
		tr.to = s.MemoryMiB
		got[s.MilliCPU] = tr
	}
	want := map[int64]tier{
		250: {3, 512, 2048}, 500: {4, 1024, 4096}, 1000: {7, 2048, 8192}, 2000: {13, 4096, 16384},
		4000: {23, 8192, 30720}, 8000: {12, 16384, 61440}, 16000: {12, 32768, 122880},
	}
	for cpu, w := range want {
		if got[cpu] != w {
			t.Errorf("%dm: %+v, want %+v", cpu, got[cpu], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d CPU values, want %d", len(got), len(want))
	}
}
