package faults

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// Environment of the keeper process (the test binary re-executed).
const (
	keeperEnv          = "MESETA_FAULTS_KEEPER" // the framework's name; set: run the keeper
	keeperNamespaceEnv = "MESETA_FAULTS_KEEPER_NAMESPACE"
	keeperInstancesEnv = "MESETA_FAULTS_KEEPER_INSTANCES"
	keeperFailoverEnv  = "MESETA_FAULTS_KEEPER_FAILOVER"
	keeperImageEnv     = "MESETA_FAULTS_KEEPER_IMAGE"
	keeperResEnv       = "MESETA_FAULTS_KEEPER_RESOURCES"
	keeperHoldEnv      = "MESETA_FAULTS_KEEPER_HOLD" // set: keep unused offers outstanding
)

// keeper is a framework, written with the SDK, that keeps a number of
// long-running instances alive, like a small Marathon: instance i runs as task
// "<name>-<i>-<attempt>". When an instance's task is lost or unreachable it
// launches the next attempt on another offer; once a replacement exists it
// kills the old task, so that a node that returns stops its stale container.
// Task names are deterministic, so a restarted keeper adopts its tasks and a
// stale cache meets AlreadyExists: nothing is launched twice.
type keeper struct {
	name      string
	instances int
	template  v1alpha1.TaskTemplate
	hold      bool // keep unused offers instead of declining them
}

// instance is what the keeper knows of one instance.
type instance struct {
	next        int             // the next attempt number
	live        []v1alpha1.Task // non-terminal, reachable, not being killed
	unreachable []v1alpha1.Task // Unreachable, not being killed
}

// parse returns the instance and attempt of a task name.
func (k *keeper) parse(name string) (int, int, bool) {
	parts := strings.Split(strings.TrimPrefix(name, k.name+"-"), "-")
	if len(parts) != 2 || !strings.HasPrefix(name, k.name+"-") {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(parts[0])
	a, err2 := strconv.Atoi(parts[1])
	return i, a, err1 == nil && err2 == nil && i < k.instances
}

func (k *keeper) observe(tasks []v1alpha1.Task) []instance {
	in := make([]instance, k.instances)
	for _, t := range tasks {
		i, attempt, ok := k.parse(t.Name)
		if !ok {
			continue
		}
		in[i].next = max(in[i].next, attempt+1)
		switch {
		case t.IsTerminal() || !t.DeletionTimestamp.IsZero():
		case t.Status.State == v1alpha1.TaskUnreachable:
			in[i].unreachable = append(in[i].unreachable, t)
		default:
			in[i].live = append(in[i].live, t)
		}
	}
	return in
}

// ResourceOffers kills the tasks that were replaced and launches an attempt
// for every instance without a live task, spreading them over the nodes.
func (k *keeper) ResourceOffers(ctx context.Context, d *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	tasks, err := d.Tasks(ctx)
	if err != nil {
		return nil
	}
	in := k.observe(tasks)
	perNode := map[string]int{}
	for _, s := range in {
		for _, t := range s.live {
			perNode[t.Spec.NodeName]++
		}
	}
	nodes := sdk.GroupByNode(offers)
	for i, s := range in {
		if len(s.live) > 0 {
			k.killReplaced(ctx, d, s)
			continue
		}
		slices.SortStableFunc(nodes, func(a, b *sdk.NodeOffers) int { return perNode[a.Node] - perNode[b.Node] })
		task := sdk.NewTask(fmt.Sprintf("%s-%d-%d", k.name, i, s.next), k.template)
		for _, n := range nodes {
			if n.Add(task) == nil {
				perNode[n.Node]++
				fmt.Printf("%s keeper: launch %s on %s\n", time.Now().Format("15:04:05.000"), task.Name, n.Node)
				break
			}
		}
	}
	var decisions []sdk.Decision
	for _, n := range nodes {
		if l, ok := n.Launch(); ok {
			decisions = append(decisions, l)
		} else if !k.hold {
			decisions = append(decisions, n.Decisions(sdk.Seconds(1))...)
		}
	}
	return decisions
}

// killReplaced kills an instance's unreachable tasks and all but its newest
// live task.
func (k *keeper) killReplaced(ctx context.Context, d *sdk.Driver, s instance) {
	victims := s.unreachable
	if len(s.live) > 1 {
		victims = append(victims, s.live[:len(s.live)-1]...)
	}
	for _, t := range victims {
		fmt.Printf("%s keeper: kill %s (%s on %s)\n", time.Now().Format("15:04:05.000"), t.Name, t.Status.State, t.Spec.NodeName)
		_ = d.Kill(ctx, t.Name)
	}
}

// StatusUpdate asks for a pass whenever a task changes, so that replacements
// and kills follow at once.
func (k *keeper) StatusUpdate(_ context.Context, d *sdk.Driver, t *v1alpha1.Task) {
	fmt.Printf("%s keeper: %s %s %s on %s\n", time.Now().Format("15:04:05.000"), t.Name, t.Status.State, t.Status.Reason, t.Spec.NodeName)
	d.Trigger()
}

// runKeeper runs the keeper framework until SIGTERM; it is the main function
// of the test binary started as a framework process.
func runKeeper(name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	instances, _ := strconv.Atoi(os.Getenv(keeperInstancesEnv))
	failover, _ := time.ParseDuration(os.Getenv(keeperFailoverEnv))
	res, err := resources.Parse(os.Getenv(keeperResEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "keeper:", err)
		return 2
	}
	grace := metav1Duration(2 * time.Second)
	k := &keeper{name: name, instances: instances, hold: os.Getenv(keeperHoldEnv) != "", template: v1alpha1.TaskTemplate{
		Resources:       res.ToAPI(),
		Container:       v1alpha1.Container{Image: os.Getenv(keeperImageEnv), Command: []string{"sh", "-c", `trap "exit 0" TERM; while true; do sleep 0.2; done`}},
		KillGracePeriod: &grace,
	}}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "keeper:", err)
		return 2
	}
	fw := sdk.Framework{Name: name, Namespace: os.Getenv(keeperNamespaceEnv), FailoverTimeout: failover,
		LeaseDuration: 3 * time.Second, RenewInterval: time.Second}
	ctx = klog.NewContext(ctx, klog.Background())
	if err := sdk.Run(ctx, cfg, fw, k); err != nil {
		fmt.Fprintln(os.Stderr, "keeper:", err)
		return 1
	}
	return 0
}

// keeperOptions start a keeper process.
type keeperOptions struct {
	name      string
	namespace string
	instances int
	failover  time.Duration
	resources string
	hold      bool
}

// startKeeper starts the keeper framework as a process of its own (this test
// binary), stopped at the end of the test.
func (c *cluster) startKeeper(o keeperOptions) *process {
	c.t.Helper()
	if o.resources == "" {
		o.resources = "cpus:0.25;mem:32Mi"
	}
	self, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	env := []string{keeperEnv + "=" + o.name, keeperNamespaceEnv + "=" + o.namespace,
		keeperInstancesEnv + "=" + strconv.Itoa(o.instances), keeperFailoverEnv + "=" + o.failover.String(),
		keeperImageEnv + "=" + c.image(), keeperResEnv + "=" + o.resources, "KUBECONFIG=" + c.kubeconfig()}
	if o.hold {
		env = append(env, keeperHoldEnv+"=1")
	}
	p := startProcess(c.t, "keeper "+o.name, filepath.Join(c.dir, "keeper-"+o.name+".log"), env, self)
	c.keepers = append(c.keepers, p)
	c.t.Cleanup(func() { _ = p.stop(30 * time.Second) })
	c.logf("started framework %s", o.name)
	return p
}

// killKeepers SIGKILLs every keeper process still running.
func (c *cluster) killKeepers() {
	for _, p := range c.keepers {
		if !p.exited() {
			p.kill()
		}
	}
}
