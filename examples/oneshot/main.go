// Command oneshot is a complete Meseta framework in a few dozen lines: it runs
// each of a fixed list of shell commands once, as tasks on offered resources,
// prints how each ended, then unregisters. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	ctrl "sigs.k8s.io/controller-runtime"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// oneshot is the scheduler. The driver calls its methods one at a time, so it
// needs no locks.
type oneshot struct {
	commands []string
	template v1alpha1.TaskTemplate
	states   map[string]v1alpha1.TaskState // by task name; "" while launching
	done     context.CancelFunc
	failed   int
}

// ResourceOffers launches the commands not launched yet on the offers they
// fit in, and declines what is left.
func (o *oneshot) ResourceOffers(_ context.Context, d *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	var decisions []sdk.Decision
	for _, node := range sdk.GroupByNode(offers) {
		for i, cmd := range o.commands {
			name := sdk.TaskName(d.Framework().Name, strconv.Itoa(i)) // the same name after a restart
			if _, launched := o.states[name]; launched {
				continue
			}
			task := sdk.NewTask(name, o.template)
			task.Spec.Container.Command = []string{"sh", "-c", cmd}
			if node.Add(task) == nil { // it fits: take its resources
				o.states[name] = ""
			}
		}
		decisions = append(decisions, node.Decisions(nil)...) // launch, or decline
	}
	if len(o.states) == len(o.commands) {
		d.Suppress() // no more offers, please
	}
	return decisions
}

// StatusUpdate records each task's state; when all have ended, it prints a
// summary and tears the framework down.
func (o *oneshot) StatusUpdate(ctx context.Context, d *sdk.Driver, t *v1alpha1.Task) {
	o.states[t.Name] = t.Status.State
	if t.IsTerminal() {
		fmt.Printf("%s: %s %s\n", t.Name, t.Status.State, t.Status.Message)
		if t.Status.State != v1alpha1.TaskFinished {
			o.failed++
		}
	}
	for _, s := range o.states {
		if !s.IsTerminal() {
			return
		}
	}
	if len(o.states) == len(o.commands) {
		_ = d.Teardown(ctx)
		o.done()
	}
}

func main() {
	name := flag.String("name", "oneshot", "the framework's name")
	namespace := flag.String("namespace", "default", "the framework's namespace")
	image := flag.String("image", "", `the tasks' image ("oci:PATH", a registry reference, or empty for the host's root filesystem)`)
	res := flag.String("resources", "cpus:0.1;mem:32Mi", "each task's resources")
	flag.Parse() // controller-runtime adds --kubeconfig
	commands := flag.Args()
	if len(commands) == 0 {
		commands = []string{"echo hello", "uname -a", "sleep 2; date"}
	}
	r, err := resources.Parse(*res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "--resources:", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithCancel(ctrl.SetupSignalHandler())
	sched := &oneshot{
		commands: commands,
		template: v1alpha1.TaskTemplate{Resources: r.ToAPI(), Container: v1alpha1.Container{Image: *image}},
		states:   map[string]v1alpha1.TaskState{},
		done:     cancel,
	}
	fw := sdk.Framework{Name: *name, Namespace: *namespace}
	if err := sdk.Run(ctx, ctrl.GetConfigOrDie(), fw, sched); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if sched.failed > 0 {
		os.Exit(1)
	}
}
