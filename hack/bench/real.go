package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/runtime"
)

// benchLaunchLatencyReal measures, in one run, create-to-Running of real
// runc containers on one real agent (a task placed on the agent's node, as
// an operator does: the master admits it, the agent pulls nothing twice,
// prepares the bundle and runs it; Running as a watcher sees it), one task at
// a time, beside `runc run -d` of the same image with its bundle ready; then
// the agent's launches per second when 60 such tasks come at once, and the
// time from creating an App of 20 instances to all of them Running (through
// the apps framework and offers).
func benchLaunchLatencyReal(ctx context.Context, env *env) {
	n := 40
	if env.short {
		n = 10
	}
	params := fmt.Sprintf("tasks=%d sequential", n)
	if why := realSkipReason(env); why != "" {
		env.report.add(Row{Scenario: "launch-latency-real", Params: params, Measure: "skipped", Note: why})
		return
	}
	if err := runRealLatency(ctx, env, n, params); err != nil {
		env.report.fail("launch-latency-real", params, err)
	}
}

// realSkipReason says why real containers cannot run here, empty when they can.
func realSkipReason(env *env) string {
	switch {
	case os.Geteuid() != 0:
		return "needs root"
	case !isFile(env.runc):
		return env.runc + " is missing (make bin/runc)"
	case !isDir(filepath.Join(env.images, "busybox")):
		return filepath.Join(env.images, "busybox") + " is missing (make images)"
	}
	return ""
}

func runRealLatency(ctx context.Context, env *env, n int, params string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	img, err := filepath.Abs(filepath.Join(env.images, "busybox"))
	if err != nil {
		return err
	}
	raw, err := rawRunc(ctx, env, img, n)
	if err != nil {
		return fmt.Errorf("raw runc: %w", err)
	}
	m, err := startMaster(ctx, env)
	if err != nil {
		return err
	}
	defer m.stop()
	stopAgent, err := startAgent(ctx, env, m)
	if err != nil {
		return err
	}
	defer stopAgent()
	c, err := m.client()
	if err != nil {
		return err
	}
	const ns = "real"
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return err
	}
	tr, err := trackTasks(ctx, m, ns)
	if err != nil {
		return err
	}
	var agent []time.Duration
	for i := range n + 1 { // the first pulls the image: left out
		t := realTask(ns, "lat-"+strconv.Itoa(i), "oci:"+img)
		start := time.Now()
		if err := c.Create(ctx, t); err != nil {
			return err
		}
		if !tr.waitRunning(ctx, i+1, time.Minute) {
			return fmt.Errorf("task %s did not run within a minute", t.Name)
		}
		at, _ := tr.runningAt(ns + "/" + t.Name)
		if i > 0 {
			agent = append(agent, at.Sub(start))
		}
	}
	rawP50, agentP50, agentP99 := percentile(raw, 50), percentile(agent, 50), percentile(agent, 99)
	env.report.add(Row{Scenario: "launch-latency-real", Params: params, Measure: "raw runc run -d p50", Value: ms(rawP50), Unit: "ms",
		Note: fmt.Sprintf("p99 %.1f ms", ms(percentile(raw, 99)))})
	row := Row{Scenario: "launch-latency-real", Params: params, Measure: "create-to-Running p50", Value: ms(agentP50), Unit: "ms"}
	row.Target, row.Met = target(fmt.Sprintf("<= raw+50 (%.0f)", ms(rawP50)+50), row.Value, ms(rawP50)+50, true)
	env.report.add(row)
	row = Row{Scenario: "launch-latency-real", Params: params, Measure: "create-to-Running p99", Value: ms(agentP99), Unit: "ms"}
	row.Target, row.Met = target("< 1000", row.Value, 1000, true)
	env.report.add(row)
	if err := measureRealBurst(ctx, env, m, c, img, realBurstSize); err != nil {
		env.report.fail("launch-latency-real", fmt.Sprintf("tasks=%d at once, one agent", realBurstSize), err)
	}
	if err := measureRealApp(ctx, env, m, c, img, realAppInstances); err != nil {
		env.report.fail("launch-latency-real", fmt.Sprintf("app instances=%d, one agent", realAppInstances), err)
	}
	return nil
}

// realTask is a task placed on the real agent's node that sleeps and dies at
// once when killed.
func realTask(ns, name, img string) *v1alpha1.Task {
	cpus, mem := resource.MustParse("10m"), resource.MustParse("16Mi")
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.TaskSpec{
			Framework: "bench", NodeName: realNode,
			TaskTemplate: v1alpha1.TaskTemplate{
				KillGracePeriod: &metav1.Duration{},
				Resources:       v1alpha1.Resources{Cpus: &cpus, Mem: &mem},
				Container:       v1alpha1.Container{Image: img, Command: []string{"sleep", "3600"}},
			},
		},
	}
}

// realNode is the real agent's node.
const realNode = "real-0"

// startAgent starts a real agent on the master and waits for its node to be
// Ready; the returned function stops it, killing its containers.
func startAgent(ctx context.Context, env *env, m *master) (func(), error) {
	dir := filepath.Join(filepath.Dir(m.dataDir), "agent")
	logFile, err := os.Create(filepath.Join(filepath.Dir(m.dataDir), "agent.log"))
	if err != nil {
		return nil, err
	}
	runc, _ := filepath.Abs(env.runc)
	cmd := exec.Command(env.meseta, "agent", "--kubeconfig", filepath.Join(m.dataDir, "admin.kubeconfig"),
		"--node-name", realNode, "--work-dir", dir, "--runtime", runc, "--port", "0",
		"--resources", "cpus:64;mem:64Gi;disk:10Gi")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		killLeftovers(runc, filepath.Join(dir, "runtime", "runc")) // the agent's runtime dir holds runc's state in runc/
		unmountUnder(dir)
	}
	c, err := m.client()
	if err != nil {
		stop()
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		n := &v1alpha1.Node{}
		if c.Get(ctx, client.ObjectKey{Name: realNode}, n) == nil && meta.IsStatusConditionTrue(n.Status.Conditions, v1alpha1.NodeReadyCondition) {
			return stop, nil
		}
		select {
		case <-done:
			return nil, fmt.Errorf("the agent exited (see %s)", logFile.Name())
		case <-time.After(200 * time.Millisecond):
		}
	}
	stop()
	return nil, errors.New("the agent's node was not Ready within a minute")
}

// unmountUnder lazily unmounts every mount under dir (the root file systems
// of the agent's containers), deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	slices.Sort(points)
	for _, p := range slices.Backward(points) {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// killLeftovers removes every container in a runc state dir (the agent keeps
// its containers when it stops).
func killLeftovers(runc, root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() {
			if out, err := exec.Command(runc, "--root", root, "delete", "-f", e.Name()).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: failed to remove container %s: %v: %s\n", e.Name(), err, out)
			}
		}
	}
}

// rawRunc times `runc run -d` of the image n times, one after another, its
// bundle prepared beforehand the way the agent prepares one.
func rawRunc(ctx context.Context, env *env, img string, n int) ([]time.Duration, error) {
	raw, err := prepareRaw(ctx, env, img, n)
	if err != nil {
		return nil, err
	}
	defer raw.cleanup()
	var ds []time.Duration
	for i := range n {
		start := time.Now()
		err := raw.run(i)
		ds = append(ds, time.Since(start))
		if err != nil {
			return nil, err
		}
		raw.remove(i)
	}
	return ds, nil
}

// rawRuncBurst runs `runc run -d` of n prepared bundles, parallel at a time,
// and returns how long all took: what the machine can do without an agent.
func rawRuncBurst(ctx context.Context, env *env, img string, n, parallel int) (time.Duration, error) {
	raw, err := prepareRaw(ctx, env, img, n)
	if err != nil {
		return 0, err
	}
	defer raw.cleanup()
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range parallel {
		wg.Go(func() {
			for i := range next {
				errs <- raw.run(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return elapsed, nil
}

// rawBundles are OCI bundles of one image, ready for `runc run -d`.
type rawBundles struct {
	env   *env
	dir   string
	state string
	store *image.Store
	ids   []string
}

// prepareRaw pulls img and prepares n bundles of it.
func prepareRaw(ctx context.Context, env *env, img string, n int) (*rawBundles, error) {
	dir, err := os.MkdirTemp(env.tmp, "raw-")
	if err != nil {
		return nil, err
	}
	r := &rawBundles{env: env, dir: dir, state: filepath.Join(dir, "runc")}
	if r.store, err = image.NewStore(image.Options{Root: filepath.Join(dir, "images")}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	pulled, err := r.store.Pull(ctx, "oci:"+img)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for i := range n {
		id := fmt.Sprintf("bench-raw-%d-%d", os.Getpid(), i)
		r.ids = append(r.ids, id)
		cdir := filepath.Join(dir, id)
		sandbox := filepath.Join(cdir, "sandbox")
		if err := os.MkdirAll(sandbox, 0o755); err != nil {
			r.cleanup()
			return nil, err
		}
		rootfs, err := r.store.Mount(pulled, cdir, image.MountOptions{Mountpoints: []string{runtime.SandboxPath}})
		if err != nil {
			r.cleanup()
			return nil, err
		}
		spec, err := runtime.BuildSpec(runtime.Config{ID: id, Rootfs: rootfs.Path, SandboxDir: sandbox, Args: []string{"sleep", "3600"},
			Env: pulled.Config.Env, Limits: runtime.Limits{MilliCPUs: 10, MemoryBytes: 16 << 20}})
		if err == nil {
			err = runtime.WriteBundle(filepath.Join(cdir, "bundle"), spec)
		}
		if err != nil {
			r.cleanup()
			return nil, err
		}
	}
	return r, nil
}

// run runs bundle i detached. The container inherits runc's stdio: a file,
// not a pipe a caller would wait on until the container exits.
func (r *rawBundles) run(i int) error {
	cdir := filepath.Join(r.dir, r.ids[i])
	out, err := os.Create(filepath.Join(cdir, "output"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(r.env.runc, "--root", r.state, "run", "-d", "--bundle", filepath.Join(cdir, "bundle"), r.ids[i])
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(out.Name())
		return fmt.Errorf("runc run -d: %w: %s", err, data)
	}
	return nil
}

// remove removes container i and unmounts its root file system.
func (r *rawBundles) remove(i int) {
	_ = exec.Command(r.env.runc, "--root", r.state, "delete", "-f", r.ids[i]).Run()
	_ = r.store.Unmount(filepath.Join(r.dir, r.ids[i]))
}

// cleanup removes every container and the bundles.
func (r *rawBundles) cleanup() {
	for i := range r.ids {
		r.remove(i)
	}
	os.RemoveAll(r.dir)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
