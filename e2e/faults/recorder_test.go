package faults

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/e2e/faults/history"
	"meseta.dev/meseta/pkg/sdk"
)

// record watches Tasks, Offers and Nodes until ctx ends and keeps every event
// in the history. A watch that breaks (a master died) is resumed from the last
// resourceVersion seen, on the next master that answers; one that is too old
// (410 Gone) starts over with a list, whose items are recorded as events too.
func (c *cluster) record(ctx context.Context) {
	var wg sync.WaitGroup
	for _, list := range []client.ObjectList{&v1alpha1.TaskList{}, &v1alpha1.OfferList{}, &v1alpha1.NodeList{}} {
		wg.Add(1)
		go func() { defer wg.Done(); c.watchKind(ctx, list) }()
	}
	wg.Wait()
}

func (c *cluster) watchKind(ctx context.Context, list client.ObjectList) {
	rv := ""
	endpoint := 0
	for ctx.Err() == nil {
		cfg, err := c.loadRestConfig(endpoint % len(c.masters))
		var cl client.WithWatch
		if err == nil {
			cl, err = client.NewWithWatch(cfg, client.Options{Scheme: sdk.Scheme()})
		}
		if err == nil {
			rv, err = c.watchOnce(ctx, cl, list.DeepCopyObject().(client.ObjectList), rv)
		}
		if err != nil && ctx.Err() == nil {
			endpoint++ // try the next master
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// watchOnce lists when rv is empty, then watches from rv until the watch ends;
// it returns the resourceVersion to resume from.
func (c *cluster) watchOnce(ctx context.Context, cl client.WithWatch, list client.ObjectList, rv string) (string, error) {
	if rv == "" {
		if err := cl.List(ctx, list); err != nil {
			return "", err
		}
		for _, obj := range itemsOf(list) {
			c.keep(history.Added, obj)
		}
		rv = list.GetResourceVersion()
	}
	w, err := cl.Watch(ctx, list, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return "", nil
		}
		return rv, err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Error:
			if st := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(st) || apierrors.IsGone(st) {
				return "", nil
			}
			return rv, apierrors.FromObject(ev.Object)
		case watch.Bookmark:
			if o, ok := ev.Object.(client.Object); ok {
				rv = o.GetResourceVersion()
			}
		case watch.Added, watch.Modified, watch.Deleted:
			if o, ok := ev.Object.(client.Object); ok {
				c.keep(history.EventType(ev.Type), o)
				rv = o.GetResourceVersion()
			}
		}
	}
	return rv, errWatchClosed
}

// errWatchClosed says the server ended a watch; it is resumed at once.
var errWatchClosed = apierrors.NewTimeoutError("watch closed", 0)

// keep records one object version.
func (c *cluster) keep(typ history.EventType, obj client.Object) {
	rv, err := history.ParseResourceVersion(obj.GetResourceVersion())
	if err != nil {
		c.t.Errorf("recorder: %v", err)
		return
	}
	e := history.Event{Type: typ, ResourceVersion: rv, Observed: time.Now()}
	switch o := obj.(type) {
	case *v1alpha1.Task:
		e.Task = o
	case *v1alpha1.Offer:
		e.Offer = o
	case *v1alpha1.Node:
		e.Node = o
	default:
		return
	}
	c.hist.Add(e)
}

func itemsOf(list client.ObjectList) []client.Object {
	var out []client.Object
	switch l := list.(type) {
	case *v1alpha1.TaskList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *v1alpha1.OfferList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *v1alpha1.NodeList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// sample records what every agent's runtime runs, every 300ms until ctx ends.
func (c *cluster) sample(ctx context.Context) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.sampleOnce()
		}
	}
}
