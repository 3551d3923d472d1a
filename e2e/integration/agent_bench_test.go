package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/runtime"
)

// BenchmarkAgentLaunch measures, in one run, how long a task takes from its
// creation through the API to Running as a watcher sees it, on a real master
// and agent with real runc containers, next to "runc run -d" executed directly
// on the same image:
//
//	go test ./e2e/integration -run '^$' -bench AgentLaunch -benchtime 40x
//
// "sequential" creates one task at a time; "burst" creates 20 at once and
// reports tasks per second until all run. It prints a table at the end.
func BenchmarkAgentLaunch(b *testing.B) {
	e := newAgentEnv(b)
	e.stopAgent(false)
	e.startAgent(func(o *agent.Options) { o.Resources = "cpus:64;mem:64Gi;disk:10Gi" })
	w := e.watchRunning(b)
	results := map[string][]time.Duration{}
	var burst []float64

	b.Run("raw", func(b *testing.B) {
		results["raw runc run -d"] = e.benchRawRunc(b)
	})
	b.Run("sequential", func(b *testing.B) {
		var ds []time.Duration
		for i := 0; i < b.N; i++ {
			tk := e.benchTask(fmt.Sprintf("seq-%d", i))
			start := time.Now()
			e.create(b, tk)
			ds = append(ds, w.wait(b, tk.Name).Sub(start))
		}
		results["agent create-to-Running"] = ds
		b.ReportMetric(ms(pct(ds, 50)), "p50-ms")
		b.ReportMetric(ms(pct(ds, 99)), "p99-ms")
		b.StopTimer()
		e.deleteAllTasks()
	})
	b.Run("burst", func(b *testing.B) {
		const size = 20
		for i := 0; i < b.N; i++ {
			start := time.Now()
			var wg sync.WaitGroup
			for j := range size {
				wg.Go(func() { e.create(b, e.benchTask(fmt.Sprintf("burst-%d-%d", i, j))) })
			}
			wg.Wait()
			var last time.Time
			for j := range size {
				last = maxTime(last, w.wait(b, fmt.Sprintf("burst-%d-%d", i, j)))
			}
			burst = append(burst, size/last.Sub(start).Seconds())
			b.StopTimer()
			e.deleteAllTasks()
			b.StartTimer()
		}
	})

	fmt.Printf("\ncreate-to-Running, %s\n%-26s %6s %8s %8s\n", e.runc, "path", "n", "p50 ms", "p99 ms")
	for _, name := range []string{"raw runc run -d", "agent create-to-Running"} {
		if ds := results[name]; len(ds) > 0 {
			fmt.Printf("%-26s %6d %8.1f %8.1f\n", name, len(ds), ms(pct(ds, 50)), ms(pct(ds, 99)))
		}
	}
	raw, agt := results["raw runc run -d"], results["agent create-to-Running"]
	if len(raw) > 0 && len(agt) > 0 {
		fmt.Printf("agent overhead over raw runc at p50: %.1f ms\n", ms(pct(agt, 50)-pct(raw, 50)))
	}
	if len(burst) > 0 {
		slices.Sort(burst)
		fmt.Printf("bursts of 20 tasks: median %.1f tasks/s to Running (%d bursts)\n", burst[len(burst)/2], len(burst))
	}
}

// benchTask is a task that sleeps and dies at once when killed.
func (e *agentEnv) benchTask(name string) *v1alpha1.Task {
	t := e.task(name, "")
	t.Spec.Container.Command = []string{"sleep", "3600"}
	t.Spec.Resources.Cpus, t.Spec.Resources.Mem = qty("10m"), qty("16Mi")
	t.Spec.KillGracePeriod = &metav1.Duration{}
	return t
}

// benchRawRunc times "runc run -d" of the same image, bundle ready, b.N times.
func (e *agentEnv) benchRawRunc(b *testing.B) []time.Duration {
	dir := b.TempDir()
	store, err := image.NewStore(image.Options{Root: filepath.Join(dir, "images")})
	if err != nil {
		b.Fatal(err)
	}
	img, err := store.Pull(context.Background(), e.image)
	if err != nil {
		b.Fatal(err)
	}
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("bench-raw-%d-%d", os.Getpid(), i)
		cdir := filepath.Join(dir, id)
		sandbox := filepath.Join(cdir, "sandbox")
		if err := os.MkdirAll(sandbox, 0o755); err != nil {
			b.Fatal(err)
		}
		rootfs, err := store.Mount(img, cdir, image.MountOptions{Mountpoints: []string{runtime.SandboxPath}})
		if err != nil {
			b.Fatal(err)
		}
		spec, err := runtime.BuildSpec(runtime.Config{ID: id, Rootfs: rootfs.Path, SandboxDir: sandbox, Args: []string{"sleep", "3600"},
			Env: img.Config.Env, Limits: runtime.Limits{MilliCPUs: 10, MemoryBytes: 16 << 20}})
		if err == nil {
			err = runtime.WriteBundle(filepath.Join(cdir, "bundle"), spec)
		}
		if err != nil {
			b.Fatal(err)
		}
		state := filepath.Join(dir, "runc")
		cmd := exec.Command(e.runc, "--root", state, "run", "-d", "--bundle", filepath.Join(cdir, "bundle"), id)
		b.StartTimer()
		start := time.Now()
		out, err := cmd.CombinedOutput()
		ds = append(ds, time.Since(start))
		b.StopTimer()
		if err != nil {
			b.Fatalf("runc run -d: %v: %s", err, out)
		}
		_ = exec.Command(e.runc, "--root", state, "delete", "-f", id).Run()
		_ = store.Unmount(cdir)
	}
	b.ReportMetric(ms(pct(ds, 50)), "p50-ms")
	return ds
}

// runningWatcher records when a watcher first sees each task Running.
type runningWatcher struct {
	mu      sync.Mutex
	running map[string]time.Time
}

func (e *agentEnv) watchRunning(b *testing.B) *runningWatcher {
	wc, err := client.NewWithWatch(e.master.RESTConfig(), client.Options{Scheme: master.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	watch, err := wc.Watch(ctx, &v1alpha1.TaskList{}, client.InNamespace(e.namespace))
	if err != nil {
		b.Fatal(err)
	}
	rw := &runningWatcher{running: map[string]time.Time{}}
	go func() {
		for ev := range watch.ResultChan() {
			if t, ok := ev.Object.(*v1alpha1.Task); ok && t.Status.State == v1alpha1.TaskRunning {
				rw.mu.Lock()
				if _, seen := rw.running[t.Name]; !seen {
					rw.running[t.Name] = time.Now()
				}
				rw.mu.Unlock()
			}
		}
	}()
	return rw
}

func (rw *runningWatcher) wait(b *testing.B, name string) time.Time {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		rw.mu.Lock()
		at, ok := rw.running[name]
		rw.mu.Unlock()
		if ok {
			return at
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("task %s did not run within a minute", name)
	return time.Time{}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
