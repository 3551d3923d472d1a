package tasks

import (
	"context"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/image/imagetest"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/runtime"
)

// TestSupervisorLimitsParallelStarts: a burst of launches starts at most
// ParallelStarts containers at once, and every one of them runs.
func TestSupervisorLimitsParallelStarts(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	store, err := image.NewStore(image.Options{Root: filepath.Join(dir, "images")})
	g.Expect(err).NotTo(HaveOccurred())
	layer, err := imagetest.Layer(imagetest.Entry{Name: "etc/"}, imagetest.Entry{Name: "etc/passwd", Body: "root:x:0:0:root:/:/bin/sh\n"})
	g.Expect(err).NotTo(HaveOccurred())
	img, err := imagetest.Image(v1.Config{}, layer)
	g.Expect(err).NotTo(HaveOccurred())
	ref, err := imagetest.WriteLayout(filepath.Join(dir, "layout"), img)
	g.Expect(err).NotTo(HaveOccurred())
	rt := &startCounter{}
	s := NewSupervisor(SupervisorConfig{
		Node: "n1", Dir: filepath.Join(dir, "tasks"), Runtime: rt, Images: store,
		Allocatable: resources.MustParse("cpus:100;mem:100Gi"), ParallelStarts: 2,
	}, func(types.NamespacedName) {})
	t.Cleanup(s.Close)

	const n = 12
	for i := range n {
		task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t" + string(rune('a'+i)), UID: types.UID("uid-" + string(rune('a'+i)))}}
		task.Spec.NodeName = "n1"
		task.Spec.Resources = resources.MustParse("cpus:0.1;mem:32Mi").ToAPI()
		task.Spec.Container.Image = image.LayoutPrefix + ref
		task.Spec.Container.Command = []string{"sleep", "60"}
		s.Admit(task)
		t.Cleanup(func() {
			_ = store.Unmount(filepath.Join(dir, "tasks", ContainerID(task.Namespace, task.Name, task.UID)))
		})
	}
	g.Eventually(rt.started).WithTimeout(10 * time.Second).Should(Equal(n))
	g.Expect(rt.most()).To(Equal(2), "at most ParallelStarts containers started at once")
}

// startCounter is a Runtime whose Run takes a while and counts how many runs
// overlap; its containers run until the test ends. It stands for the OCI
// runtime only where what is tested is how the supervisor calls it.
type startCounter struct {
	mu               sync.Mutex
	running, maxSeen int
	done             int
}

func (c *startCounter) Run(context.Context, string, runtime.RunOptions) (runtime.State, error) {
	c.mu.Lock()
	c.running++
	c.maxSeen = max(c.maxSeen, c.running)
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	c.mu.Lock()
	c.running--
	c.done++
	c.mu.Unlock()
	return runtime.State{}, nil
}

func (c *startCounter) started() int { c.mu.Lock(); defer c.mu.Unlock(); return c.done }
func (c *startCounter) most() int    { c.mu.Lock(); defer c.mu.Unlock(); return c.maxSeen }

func (c *startCounter) State(context.Context, string) (runtime.State, error) {
	return runtime.State{}, nil
}
func (c *startCounter) Kill(context.Context, string, syscall.Signal) error { return nil }
func (c *startCounter) Wait(ctx context.Context, _ string) (runtime.ExitStatus, error) {
	<-ctx.Done()
	return runtime.ExitStatus{}, ctx.Err()
}
func (c *startCounter) Stop(context.Context, string, time.Duration) (runtime.ExitStatus, error) {
	return runtime.ExitStatus{}, nil
}
func (c *startCounter) Delete(context.Context, string) error          { return nil }
func (c *startCounter) List(context.Context) ([]runtime.State, error) { return nil, nil }
