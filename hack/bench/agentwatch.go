package main

import (
	"context"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/sdk"
	"meseta.dev/meseta/pkg/security"
)

// watchAsAgents holds, for each of n simulated nodes, a watch of the Tasks
// bound to it (field selector spec.nodeName=NODE), as that node's agent,
// as a real agent does; it decodes and drops their events (the fleet's one
// shared watch drives the simulated nodes). With -agent-watches the master
// then serves a real fleet's watches: one per node, each to be handed its
// node's events only. A watch that ends is opened again from the last
// version it saw, until ctx ends.
func watchAsAgents(ctx context.Context, m *master, n int) {
	for _, node := range simulate.NodeNames("sim", n) {
		cfg := m.config()
		cfg.Impersonate = rest.ImpersonationConfig{UserName: security.NodeUser(node), Groups: []string{security.NodesGroup}}
		c, err := client.NewWithWatch(cfg, client.Options{Scheme: sdk.Scheme()})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: node %s cannot watch its tasks: %v\n", node, err)
			continue
		}
		go watchAsAgent(ctx, c, node)
	}
}

// watchAsAgent lists the tasks of node, then watches them from that list's
// version, again and again, until ctx ends.
func watchAsAgent(ctx context.Context, c client.WithWatch, node string) {
	selector := client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.nodeName", node)}
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			list := &v1alpha1.TaskList{}
			if err := c.List(ctx, list, selector); err != nil {
				sleepCtx(ctx, time.Second)
				continue
			}
			rv = list.ResourceVersion
		}
		w, err := c.Watch(ctx, &v1alpha1.TaskList{}, selector,
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
		if err != nil {
			rv = ""
			sleepCtx(ctx, time.Second)
			continue
		}
		rv = drain(w, rv)
	}
}

// drain reads w until it ends and returns the last version it saw; "" when
// the watch ended with an error (too old a version: list again).
func drain(w watch.Interface, rv string) string {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return ""
		}
		if o, ok := ev.Object.(client.Object); ok {
			rv = o.GetResourceVersion()
		}
	}
	return rv
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
