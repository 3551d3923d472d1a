package offers

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// rewriteAfter is how long the writer trusts that a status it wrote is in
// place when the cache does not show it yet; after that it writes it again
// (someone may have overwritten it).
const rewriteAfter = 30 * time.Second

// statusWriter writes the status fields the offer controller owns: Node
// allocated and offered; Framework allocated, offered, dominantShare,
// observedRevive and the OffersAvailable condition; Role allocated, offered,
// dominantShare and the LimitReached and GuaranteeMet conditions.
// It writes with server-side apply under FieldOwner, so it never touches the
// fields other writers own, and at a bounded rate: every StatusInterval at
// most StatusBatch objects whose status differs from what the ledger and the
// latest allocation cycle say, the least recently written first.
type statusWriter struct {
	c    *Controller
	poke chan struct{}

	mu      sync.Mutex
	urgents map[types.NamespacedName]struct{}
	last    map[string]written
}

type written struct {
	body string
	at   time.Time
}

// statusApply is one server-side apply of an object's status.
type statusApply struct {
	key    string
	obj    client.Object
	body   []byte
	urgent bool
	last   time.Time
}

func newStatusWriter(c *Controller) *statusWriter {
	return &statusWriter{c: c, poke: make(chan struct{}, 1), urgents: map[types.NamespacedName]struct{}{}, last: map[string]written{}}
}

// urgent asks for a framework's status to be written soon (after a revive).
func (w *statusWriter) urgent(key types.NamespacedName) {
	w.mu.Lock()
	w.urgents[key] = struct{}{}
	w.mu.Unlock()
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

func (w *statusWriter) run(ctx context.Context) {
	ticker := w.c.clock.NewTicker(w.c.opts.StatusInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			w.round(ctx, false)
		case <-w.poke:
			w.round(ctx, true)
		}
	}
}

// round writes the statuses that changed; urgentOnly limits it to the
// frameworks marked urgent.
func (w *statusWriter) round(ctx context.Context, urgentOnly bool) {
	now := w.c.clock.Now()
	w.mu.Lock()
	urgents := w.urgents
	w.urgents = map[types.NamespacedName]struct{}{}
	w.mu.Unlock()
	var todo []statusApply
	todo = append(todo, w.frameworks(ctx, now, urgents, urgentOnly)...)
	if !urgentOnly {
		todo = append(todo, w.nodes(ctx)...)
		todo = append(todo, w.roles(ctx, now)...)
	}
	w.mu.Lock()
	var due []statusApply
	for _, a := range todo {
		l, ok := w.last[a.key]
		if ok && l.body == string(a.body) && now.Sub(l.at) < rewriteAfter {
			continue // written already; the cache has not caught up
		}
		a.last = l.at
		due = append(due, a)
	}
	w.mu.Unlock()
	slices.SortFunc(due, func(a, b statusApply) int {
		if a.urgent != b.urgent {
			if a.urgent {
				return -1
			}
			return 1
		}
		return a.last.Compare(b.last)
	})
	if len(due) > w.c.opts.StatusBatch {
		due = due[:w.c.opts.StatusBatch]
	}
	parallel(ctx, w.c.opts.Workers, len(due), func(i int) {
		a := due[i]
		err := w.c.api.Status().Patch(ctx, a.obj, client.RawPatch(types.ApplyPatchType, a.body),
			client.ForceOwnership, client.FieldOwner(FieldOwner))
		if err != nil {
			if !apierrors.IsNotFound(err) {
				log.FromContext(ctx).V(1).Info("Failed to write a status", "object", a.key, "error", err.Error())
			}
			return
		}
		w.mu.Lock()
		w.last[a.key] = written{body: string(a.body), at: now}
		w.mu.Unlock()
		w.c.metrics.statusWrites.Inc()
	})
	w.forget(now)
}

// forget drops what it remembers of writes long past.
func (w *statusWriter) forget(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, l := range w.last {
		if now.Sub(l.at) > 2*rewriteAfter {
			delete(w.last, k)
		}
	}
}

type applyMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type applyHead struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   applyMeta `json:"metadata"`
}

func head(kind, namespace, name string) applyHead {
	return applyHead{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind, Metadata: applyMeta{Name: name, Namespace: namespace}}
}

type nodeStatusApply struct {
	applyHead
	Status struct {
		Allocated v1alpha1.Resources `json:"allocated"`
		Offered   v1alpha1.Resources `json:"offered"`
	} `json:"status"`
}

func (w *statusWriter) nodes(ctx context.Context) []statusApply {
	var nodes v1alpha1.NodeList
	if err := w.c.cache.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var out []statusApply
	for i := range nodes.Items {
		n := &nodes.Items[i]
		u, _ := w.c.ledger.Node(n.Name)
		if sameResources(n.Status.Allocated, u.Allocated) && sameResources(n.Status.Offered, u.Offered) {
			continue
		}
		a := nodeStatusApply{applyHead: head("Node", "", n.Name)}
		a.Status.Allocated, a.Status.Offered = statusResources(u.Allocated), statusResources(u.Offered)
		body, _ := json.Marshal(a)
		obj := &v1alpha1.Node{}
		obj.Name = n.Name
		out = append(out, statusApply{key: "node/" + n.Name, obj: obj, body: body})
	}
	return out
}

// statusResources returns v for a server-side apply of a status field. Nothing
// is sent as explicit zero cpus and mem: the API server stores an applied empty
// object as null, which the schema refuses, so the apply would fail and the
// field keep its old amounts for good.
func statusResources(v resources.Vector) v1alpha1.Resources {
	r := v.ToAPI()
	if v.IsZero() {
		zero := resource.MustParse("0")
		r.Cpus, r.Mem = &zero, ptr.To(zero.DeepCopy())
	}
	return r
}

// sameResources reports whether API resources hold exactly v.
func sameResources(r v1alpha1.Resources, v resources.Vector) bool {
	got, err := resources.FromAPI(r)
	return err == nil && got.Equal(v)
}

// formatShare writes a share as a short decimal: 0.25, 0.3333, 0.
func formatShare(s float64) string {
	out := strconv.FormatFloat(s, 'f', 4, 64)
	out = strings.TrimRight(out, "0")
	return strings.TrimSuffix(out, ".")
}

// sortedKeys returns a map's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
