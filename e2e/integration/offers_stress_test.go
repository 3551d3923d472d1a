package integration

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/resources"
)

// TestOffersStress runs frameworks that race to accept, decline, delete and
// let expire their offers, with two schedulers per framework competing for the
// same offers and some tasks naming other frameworks' offers or offers of two
// nodes, while nodes are cordoned and lose their agents and tasks finish. A
// watch records every change of Nodes, Offers and Tasks; afterwards a checker
// replays that history and proves the invariants at every resourceVersion.
func TestOffersStress(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{AllocationInterval: 100 * time.Millisecond, OfferTimeout: 3 * time.Second}, nil, nil)
	rec := startRecorder(t, env)

	const nodes = 10
	for i := range nodes {
		env.node(fmt.Sprintf("node-%02d", i), "cpus:4;mem:4Gi;ports:[31000-31007]")
	}
	fws := []types.NamespacedName{
		env.framework("team-a", "alpha"), env.framework("team-a", "beta"),
		env.framework("team-b", "gamma"), env.framework("team-b", "delta"),
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var created atomic.Int64
	for i, fw := range fws {
		for s := range 2 { // two schedulers of one framework race for its offers
			wg.Go(func() { stressScheduler(ctx, env, fw, fws, uint64(i*10+s), &created) })
		}
	}
	wg.Go(func() { stressChaos(ctx, env, nodes) })
	time.Sleep(15 * time.Second)
	stop()
	wg.Wait()
	for i := range nodes {
		n := fmt.Sprintf("node-%02d", i)
		env.cordon(n, false)
		env.setNodeReady(n, true)
	}

	// Quiescence: every task bound or ended, and the ledger equal to what the
	// API holds.
	g.Eventually(func(g Gomega) {
		var tasks v1alpha1.TaskList
		g.Expect(env.c.List(env.ctx(), &tasks)).To(Succeed())
		for _, tk := range tasks.Items {
			g.Expect(tk.IsBound() || tk.IsTerminal()).To(BeTrue(), "task %s/%s pending: %s", tk.Namespace, tk.Name, describePending(env, &tk))
		}
		g.Expect(ledgerMatchesAPI(env)).To(Succeed())
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())

	history := rec.stop()
	stats, err := checkHistory(history)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("stress: %d tasks created; %d events checked; offers: %v; tasks bound %d, dropped %d (%d of them on foreign or two-node offers); drops: %v",
		created.Load(), len(history), stats.offers, stats.bound, stats.dropped, stats.cheats, stats.why)
	g.Expect(stats.bound).To(BeNumerically(">", 0))
	g.Expect(stats.offers[v1alpha1.OfferRescinded]).To(BeNumerically(">", 0))
	g.Expect(stats.offers[v1alpha1.OfferDeclined]).To(BeNumerically(">", 0))
	g.Expect(stats.offers[v1alpha1.OfferExpired]).To(BeNumerically(">", 0))
}

// describePending says what the API and the ledger hold of a pending task's
// offers, for a failure message.
func describePending(env *offersEnv, tk *v1alpha1.Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "created %s, rv %s, offers %v, status %+v", tk.CreationTimestamp, tk.ResourceVersion, tk.Spec.Offers, tk.Status)
	for _, name := range tk.Spec.Offers {
		key := types.NamespacedName{Namespace: tk.Namespace, Name: name}
		var o v1alpha1.Offer
		err := env.c.Get(env.ctx(), key, &o)
		lo, claimed, inLedger := env.ctl.Ledger().Offer(key)
		fmt.Fprintf(&b, "; offer %s: get err %v, framework %s, node %s, phase %s, reason %s, decline %v, tasks %v; ledger: held %t, claimed %t, uid %q",
			name, err, o.Spec.Framework, o.Spec.NodeName, o.Status.Phase, o.Status.Reason, o.Spec.Decline != nil, o.Status.Tasks, inLedger, claimed, lo.UID)
	}
	return b.String()
}

// stressScheduler is a framework scheduler that does everything at random.
func stressScheduler(ctx context.Context, env *offersEnv, fw types.NamespacedName, all []types.NamespacedName, seed uint64, created *atomic.Int64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	n := 0
	for ctx.Err() == nil {
		var list v1alpha1.OfferList
		if err := env.c.List(ctx, &list, client.InNamespace(fw.Namespace)); err != nil {
			continue
		}
		var mine, foreign []v1alpha1.Offer
		for _, o := range list.Items {
			if o.Status.Phase != v1alpha1.OfferOutstanding || o.Spec.Decline != nil {
				continue
			}
			switch {
			case o.Spec.Framework == fw.Name && forgets(o.Name):
				// Left alone until it expires.
			case o.Spec.Framework == fw.Name:
				mine = append(mine, o)
			default:
				foreign = append(foreign, o)
			}
		}
		rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		for _, o := range mine[:min(len(mine), 3)] {
			switch p := rng.IntN(100); {
			case p < 55: // accept with one to three tasks, some too big
				for range 1 + rng.IntN(3) {
					n++
					names := []string{o.Name}
					if rng.IntN(10) == 0 && len(mine) > 1 {
						names = append(names, mine[rng.IntN(len(mine))].Name) // maybe another node
					}
					spec := fmt.Sprintf("cpus:%d00m;mem:%dMi", 2+rng.IntN(15), 64*(1+rng.IntN(16)))
					if rng.IntN(3) == 0 {
						spec += fmt.Sprintf(";ports:[%d]", 31000+rng.IntN(8))
					}
					t := newTask(fw, fmt.Sprintf("%s-%d-%d", fw.Name, seed, n), spec, slices.Compact(names)...)
					if env.c.Create(ctx, t) == nil {
						created.Add(1)
					}
				}
			case p < 70:
				body := fmt.Sprintf(`{"spec":{"decline":{"refuseSeconds":%d}}}`, rng.IntN(2))
				_ = env.c.Patch(ctx, &o, client.RawPatch(types.MergePatchType, []byte(body)))
			case p < 78:
				_ = env.c.Delete(ctx, &o)
			}
		}
		if len(foreign) > 0 && rng.IntN(8) == 0 { // try to use another framework's offer
			n++
			o := foreign[rng.IntN(len(foreign))]
			if env.c.Create(ctx, newTask(fw, fmt.Sprintf("%s-%d-%d", fw.Name, seed, n), "cpus:0.1;mem:32Mi", o.Name)) == nil {
				created.Add(1)
			}
		}
		finishSome(ctx, env, fw, rng)
		time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
	}
	_ = all
}

// forgets reports whether the schedulers leave an offer alone until it
// expires: one offer in eight, chosen by its name. The others are accepted,
// declined or deleted so often that few would expire otherwise, the fewer
// the faster the schedulers run.
func forgets(offer string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(offer))
	return h.Sum32()%8 == 0
}

// finishSome ends or deletes a few of the framework's bound tasks, as agents
// and frameworks would.
func finishSome(ctx context.Context, env *offersEnv, fw types.NamespacedName, rng *rand.Rand) {
	var tasks v1alpha1.TaskList
	if err := env.c.List(ctx, &tasks, client.InNamespace(fw.Namespace)); err != nil {
		return
	}
	for _, tk := range tasks.Items {
		if tk.Spec.Framework != fw.Name || !tk.IsBound() || tk.IsTerminal() || rng.IntN(4) != 0 {
			continue
		}
		if rng.IntN(2) == 0 {
			_ = env.c.Delete(ctx, &tk)
			continue
		}
		body := fmt.Sprintf(`{"status":{"state":"Finished","exitCode":0,"finishedAt":%q}}`, time.Now().UTC().Format(time.RFC3339))
		_ = env.c.Status().Patch(ctx, &tk, client.RawPatch(types.MergePatchType, []byte(body)))
	}
}

// stressChaos cordons nodes and takes their agents away, and back.
func stressChaos(ctx context.Context, env *offersEnv, nodes int) {
	rng := rand.New(rand.NewPCG(7, 7))
	for ctx.Err() == nil {
		n := fmt.Sprintf("node-%02d", rng.IntN(nodes))
		on := rng.IntN(2) == 0
		var body string
		if rng.IntN(2) == 0 {
			body = fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
			_ = env.c.Patch(ctx, &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, client.RawPatch(types.MergePatchType, []byte(body)))
		} else {
			status := "True"
			if on {
				status = "Unknown"
			}
			body = fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":%q,"reason":"Test","message":"","lastTransitionTime":%q}]}}`,
				status, time.Now().UTC().Format(time.RFC3339))
			_ = env.c.Status().Patch(ctx, &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, client.RawPatch(types.MergePatchType, []byte(body)))
		}
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
	}
}

// ledgerMatchesAPI compares the ledger with what a LIST of the API says each
// node holds: outstanding offers and bound tasks that are not terminal.
func ledgerMatchesAPI(env *offersEnv) error {
	var offers v1alpha1.OfferList
	var tasks v1alpha1.TaskList
	if err := env.c.List(env.ctx(), &offers); err != nil {
		return err
	}
	if err := env.c.List(env.ctx(), &tasks); err != nil {
		return err
	}
	offered, allocated := map[string]resources.Vector{}, map[string]resources.Vector{}
	for _, o := range offers.Items {
		if !o.Status.Phase.IsFinal() {
			offered[o.Spec.NodeName] = offered[o.Spec.NodeName].Add(vec(o.Spec.Resources))
		}
	}
	for _, tk := range tasks.Items {
		if tk.IsBound() && !tk.IsTerminal() {
			allocated[tk.Spec.NodeName] = allocated[tk.Spec.NodeName].Add(vec(tk.Spec.Resources))
		}
	}
	for _, u := range env.ctl.Ledger().Nodes() {
		if !u.Offered.Equal(offered[u.Name]) || !u.Allocated.Equal(allocated[u.Name]) {
			return fmt.Errorf("node %s: ledger offered %s allocated %s, API offered %s allocated %s",
				u.Name, u.Offered, u.Allocated, offered[u.Name], allocated[u.Name])
		}
	}
	return nil
}

// recorded is one watch event.
type recorded struct {
	rv   int64
	kind string
	typ  watch.EventType
	obj  client.Object
}

type recorder struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	events []recorded
}

// startRecorder watches Nodes, Offers and Tasks from now on.
func startRecorder(t *testing.T, env *offersEnv) *recorder {
	t.Helper()
	wc, err := client.NewWithWatch(env.m.RESTConfig(), client.Options{Scheme: master.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{cancel: cancel}
	lists := map[string]func() client.ObjectList{
		"Node":  func() client.ObjectList { return &v1alpha1.NodeList{} },
		"Offer": func() client.ObjectList { return &v1alpha1.OfferList{} },
		"Task":  func() client.ObjectList { return &v1alpha1.TaskList{} },
	}
	for kind, newList := range lists {
		w, err := wc.Watch(ctx, newList())
		if err != nil {
			t.Fatal(err)
		}
		r.wg.Go(func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case e, ok := <-w.ResultChan():
					if !ok {
						return
					}
					obj, ok := e.Object.(client.Object)
					if !ok || e.Type == watch.Bookmark || e.Type == watch.Error {
						continue
					}
					rv, _ := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
					r.mu.Lock()
					r.events = append(r.events, recorded{rv: rv, kind: kind, typ: e.Type, obj: obj})
					r.mu.Unlock()
				}
			}
		})
	}
	return r
}

// stop ends the watches and returns the history in resourceVersion order.
func (r *recorder) stop() []recorded {
	time.Sleep(500 * time.Millisecond) // let the last events arrive
	r.cancel()
	r.wg.Wait()
	sort.SliceStable(r.events, func(i, j int) bool { return r.events[i].rv < r.events[j].rv })
	return r.events
}

type historyStats struct {
	offers                 map[v1alpha1.OfferPhase]int
	bound, dropped, cheats int
	why                    map[string]int // drops by kind of message
}

// dropKinds classify drop messages for the summary.
var dropKinds = []string{"already accepted", "but the task needs", "are taken by", "belongs to framework",
	"more than one node", "is Expired", "is Rescinded", "is Declined", "declined", "does not exist"}

// checkHistory replays a history and checks, at every resourceVersion:
//   - no node holds more than its allocatable in outstanding offers and bound
//     tasks that are not terminal, ports included;
//   - an offer leaves Outstanding once, and an Accepted offer's tasks never change;
//   - a task's node, once set, never changes;
//
// and at the end:
//   - every bound task names only offers of its own framework, on its node, that
//     were accepted for it (so no offer serves two accepts), and the offers
//     accepted together hold the tasks bound on them;
//   - every task dropped for invalid offers was not bound.
func checkHistory(events []recorded) (historyStats, error) {
	stats := historyStats{offers: map[v1alpha1.OfferPhase]int{}, why: map[string]int{}}
	nodes := map[string]*v1alpha1.Node{}
	offers := map[types.NamespacedName]*v1alpha1.Offer{}
	tasks := map[types.NamespacedName]*v1alpha1.Task{}
	lastOffer := map[types.NamespacedName]*v1alpha1.Offer{}
	lastTask := map[types.NamespacedName]*v1alpha1.Task{}
	for i, e := range events {
		key := client.ObjectKeyFromObject(e.obj)
		var touched []string
		switch o := e.obj.(type) {
		case *v1alpha1.Node:
			nodes[o.Name] = o
			if e.typ == watch.Deleted {
				delete(nodes, o.Name)
			}
			touched = append(touched, o.Name)
		case *v1alpha1.Offer:
			if old := offers[key]; old != nil {
				if old.Status.Phase.IsFinal() && o.Status.Phase != old.Status.Phase {
					return stats, fmt.Errorf("rv %d: offer %s left phase %s for %s", e.rv, key, old.Status.Phase, o.Status.Phase)
				}
				if old.Status.Phase == v1alpha1.OfferAccepted && !slices.Equal(old.Status.Tasks, o.Status.Tasks) {
					return stats, fmt.Errorf("rv %d: offer %s accepted for %v, then for %v", e.rv, key, old.Status.Tasks, o.Status.Tasks)
				}
			}
			offers[key], lastOffer[key] = o, o
			if e.typ == watch.Deleted {
				delete(offers, key)
			}
			touched = append(touched, o.Spec.NodeName)
		case *v1alpha1.Task:
			if old := tasks[key]; old != nil && old.Spec.NodeName != "" && o.Spec.NodeName != old.Spec.NodeName {
				return stats, fmt.Errorf("rv %d: task %s moved from node %s to %q", e.rv, key, old.Spec.NodeName, o.Spec.NodeName)
			}
			tasks[key], lastTask[key] = o, o
			if e.typ == watch.Deleted {
				delete(tasks, key)
			}
			touched = append(touched, o.Spec.NodeName)
		}
		if i+1 < len(events) && events[i+1].rv == e.rv {
			continue // check once every change of this revision is applied
		}
		for _, n := range touched {
			if err := checkNode(n, nodes, offers, tasks); err != nil {
				return stats, fmt.Errorf("rv %d: %w", e.rv, err)
			}
		}
	}
	return stats, checkFinal(&stats, lastOffer, lastTask)
}

// checkNode checks that one node is not committed past its allocatable.
func checkNode(name string, nodes map[string]*v1alpha1.Node, offers map[types.NamespacedName]*v1alpha1.Offer, tasks map[types.NamespacedName]*v1alpha1.Task) error {
	n := nodes[name]
	if n == nil {
		return nil
	}
	alloc := vec(n.Status.Allocatable)
	var sum resources.Vector
	var ports []resources.PortSet
	for _, o := range offers {
		if o.Spec.NodeName == name && !o.Status.Phase.IsFinal() {
			v := vec(o.Spec.Resources)
			sum, ports = sum.Add(v), append(ports, v.Ports)
		}
	}
	for _, tk := range tasks {
		if tk.Spec.NodeName == name && !tk.IsTerminal() {
			v := vec(tk.Spec.Resources)
			sum, ports = sum.Add(v), append(ports, v.Ports)
		}
	}
	if !alloc.Contains(sum) {
		return fmt.Errorf("node %s committed %s past its allocatable %s", name, sum, alloc)
	}
	var seen resources.PortSet
	for _, p := range ports {
		if !seen.Intersect(p).IsEmpty() {
			return fmt.Errorf("node %s: ports %s committed twice", name, seen.Intersect(p))
		}
		seen = seen.Union(p)
	}
	return nil
}

// checkFinal checks the bindings against the offers they were made on.
func checkFinal(stats *historyStats, offers map[types.NamespacedName]*v1alpha1.Offer, tasks map[types.NamespacedName]*v1alpha1.Task) error {
	for _, o := range offers {
		stats.offers[o.Status.Phase]++
	}
	// Tasks bound on each accepted offer, to check the groups' sums.
	groups := map[types.NamespacedName][]*v1alpha1.Task{}
	for key, tk := range tasks {
		if tk.Status.Reason == v1alpha1.ReasonInvalidOffers {
			stats.dropped++
			if tk.IsBound() {
				return fmt.Errorf("task %s was bound and dropped", key)
			}
			if m := tk.Status.Message; strings.Contains(m, "belongs to framework") || strings.Contains(m, "more than one node") {
				stats.cheats++
			}
			for _, k := range dropKinds {
				if strings.Contains(tk.Status.Message, k) {
					stats.why[k]++
					break
				}
			}
		}
		if !tk.IsBound() || len(tk.Spec.Offers) == 0 {
			continue
		}
		stats.bound++
		for _, name := range tk.Spec.Offers {
			ok := types.NamespacedName{Namespace: key.Namespace, Name: name}
			o := offers[ok]
			switch {
			case o == nil:
				return fmt.Errorf("task %s bound on offer %s that never existed", key, name)
			case o.Spec.Framework != tk.Spec.Framework:
				return fmt.Errorf("task %s of framework %s bound on offer %s of framework %s", key, tk.Spec.Framework, name, o.Spec.Framework)
			case o.Spec.NodeName != tk.Spec.NodeName:
				return fmt.Errorf("task %s bound to node %s on offer %s of node %s", key, tk.Spec.NodeName, name, o.Spec.NodeName)
			case o.Status.Phase != v1alpha1.OfferAccepted || !slices.Contains(o.Status.Tasks, tk.Name):
				return fmt.Errorf("task %s bound on offer %s, which is %s for %v", key, name, o.Status.Phase, o.Status.Tasks)
			}
			groups[ok] = append(groups[ok], tk)
		}
	}
	// Offers accepted together (linked by shared tasks) hold their tasks.
	seen := map[types.NamespacedName]bool{}
	for start := range groups {
		if seen[start] {
			continue
		}
		var have, need resources.Vector
		var parts []string // what each offer holds and each task needs, for a failure
		counted := map[types.NamespacedName]bool{}
		queue := []types.NamespacedName{start}
		for len(queue) > 0 {
			k := queue[0]
			queue = queue[1:]
			if seen[k] {
				continue
			}
			seen[k] = true
			have = have.Add(vec(offers[k].Spec.Resources))
			parts = append(parts, fmt.Sprintf("offer %s holds %s, accepted for %v", k.Name, vec(offers[k].Spec.Resources), offers[k].Status.Tasks))
			for _, tk := range groups[k] {
				tkey := client.ObjectKeyFromObject(tk)
				if !counted[tkey] {
					counted[tkey] = true
					need = need.Add(vec(tk.Spec.Resources))
					parts = append(parts, fmt.Sprintf("task %s on %v needs %s", tk.Name, tk.Spec.Offers, vec(tk.Spec.Resources)))
				}
				for _, name := range tk.Spec.Offers {
					queue = append(queue, types.NamespacedName{Namespace: k.Namespace, Name: name})
				}
			}
		}
		if !have.Contains(need) {
			return fmt.Errorf("offers accepted with %s hold %s but their tasks need %s (%s)", start, have, need, strings.Join(parts, "; "))
		}
	}
	return nil
}
