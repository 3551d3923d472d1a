package offers

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// nodeInfo is what the allocator needs of a Node besides the ledger's
// accounting.
type nodeInfo struct {
	Allocatable   resources.Vector
	Attributes    map[string]string
	Ready         bool
	Cordoned      bool // spec.unschedulable
	Draining      bool // spec.drain
	MaintStart    time.Time
	MaintEnd      time.Time // zero: open-ended
	HasMaint      bool
	BadAllocation string // why allocatable could not be read, if it could not
}

// unschedulable says whether the node takes no new offers at now, and why.
func (n *nodeInfo) unschedulable(now time.Time) (bool, string) {
	switch {
	case n.Cordoned:
		return true, "node is cordoned"
	case n.Draining:
		return true, "node is draining"
	case n.HasMaint && !now.Before(n.MaintStart) && (n.MaintEnd.IsZero() || now.Before(n.MaintEnd)):
		return true, "node is in maintenance"
	}
	return false, ""
}

func nodeInfoOf(n *v1alpha1.Node) nodeInfo {
	info := nodeInfo{
		Ready:    n.IsReady(),
		Cordoned: n.Spec.Unschedulable,
		Draining: n.Spec.Drain != nil,
	}
	alloc, err := resources.FromAPI(n.Status.Allocatable)
	if err != nil {
		info.BadAllocation = "status.allocatable." + err.Error()
	} else {
		info.Allocatable = alloc
	}
	if len(n.Status.Attributes) > 0 || len(n.Spec.Attributes) > 0 {
		info.Attributes = make(map[string]string, len(n.Status.Attributes)+len(n.Spec.Attributes))
		maps.Copy(info.Attributes, n.Status.Attributes)
		maps.Copy(info.Attributes, n.Spec.Attributes)
	}
	if m := n.Spec.Maintenance; m != nil {
		info.HasMaint, info.MaintStart = true, m.Start.Time
		if m.End != nil {
			info.MaintEnd = m.End.Time
		}
	}
	return info
}

// sameForScheduling reports whether two infos lead to the same offers.
func (n *nodeInfo) sameForScheduling(o *nodeInfo) bool {
	return n.Allocatable.Equal(o.Allocatable) && maps.Equal(n.Attributes, o.Attributes) &&
		n.Ready == o.Ready && n.Cordoned == o.Cordoned && n.Draining == o.Draining &&
		n.HasMaint == o.HasMaint && n.MaintStart.Equal(o.MaintStart) && n.MaintEnd.Equal(o.MaintEnd)
}

// frameworkInfo is what the allocator needs of a Framework.
type frameworkInfo struct {
	UID            types.UID
	Role           string
	Phase          v1alpha1.FrameworkPhase
	Suppressed     bool // spec.suppressed
	Revive         int64
	ObservedRevive int64
	GPU            bool
	MinAllocatable *resources.Vector
	Deleting       bool
	// SuppressedSince is when the controller first saw the framework
	// suppressed, zero when it is not.
	SuppressedSince time.Time
}

// active says whether the framework may hold offers, and if not why.
func (f *frameworkInfo) active() (bool, string) {
	switch {
	case f.Deleting:
		return false, "framework is being deleted"
	case f.Phase == v1alpha1.FrameworkTornDown:
		return false, "framework was torn down"
	case f.Phase != v1alpha1.FrameworkActive && f.Phase != v1alpha1.FrameworkSuppressed:
		return false, "framework is inactive"
	case f.Suppressed || f.Phase == v1alpha1.FrameworkSuppressed:
		return false, "framework is suppressed"
	}
	return true, ""
}

// suppressed says whether suppression is the only reason the framework gets
// no offers.
func (f *frameworkInfo) suppressed() bool {
	return !f.Deleting && (f.Suppressed || f.Phase == v1alpha1.FrameworkSuppressed) &&
		(f.Phase == v1alpha1.FrameworkActive || f.Phase == v1alpha1.FrameworkSuppressed)
}

// mayStillLaunch says whether the tasks the framework created on its offers
// may still be bound: it is inactive or suppressed, not deleted or torn down.
func (f *frameworkInfo) mayStillLaunch() bool {
	return !f.Deleting && f.Phase != v1alpha1.FrameworkTornDown
}

func frameworkInfoOf(f *v1alpha1.Framework) frameworkInfo {
	info := frameworkInfo{
		UID:            f.UID,
		Role:           f.EffectiveRole(),
		Phase:          f.Status.Phase,
		Suppressed:     f.Spec.Suppressed,
		Revive:         f.Spec.Revive,
		ObservedRevive: f.Status.ObservedRevive,
		GPU:            f.HasCapability(v1alpha1.CapabilityGPUResources),
		Deleting:       f.DeletionTimestamp != nil,
	}
	if f.Spec.MinAllocatable != nil {
		if v, err := resources.FromAPI(*f.Spec.MinAllocatable); err == nil {
			info.MinAllocatable = &v
		}
	}
	return info
}

func (f *frameworkInfo) sameForScheduling(o *frameworkInfo) bool {
	sameMin := (f.MinAllocatable == nil) == (o.MinAllocatable == nil) &&
		(f.MinAllocatable == nil || f.MinAllocatable.Equal(*o.MinAllocatable))
	return f.UID == o.UID && f.Role == o.Role && f.Phase == o.Phase && f.Suppressed == o.Suppressed &&
		f.Revive == o.Revive && f.GPU == o.GPU && f.Deleting == o.Deleting && sameMin
}

// roleInfo is a Role's weight, limit and guarantee.
type roleInfo struct {
	Weight    float64
	Limit     resources.Limits
	Guarantee resources.Vector
}

func roleInfoOf(r *v1alpha1.Role) roleInfo {
	w := r.EffectiveWeight()
	info := roleInfo{Weight: w.AsApproximateFloat64()}
	if l, err := resources.LimitsFromAPI(r.Spec.Limit); err == nil {
		info.Limit = l
	}
	if r.Spec.Guarantee != nil {
		if g, err := resources.FromAPI(*r.Spec.Guarantee); err == nil {
			info.Guarantee = g
		}
	}
	return info
}

// world is what the controller knows of nodes, frameworks and roles, kept up
// to date from the informers' events. It is safe for concurrent use.
type world struct {
	mu         sync.RWMutex
	nodes      map[string]*nodeInfo
	frameworks map[types.NamespacedName]*frameworkInfo
	roles      map[string]roleInfo
}

func newWorld() *world {
	return &world{
		nodes:      map[string]*nodeInfo{},
		frameworks: map[types.NamespacedName]*frameworkInfo{},
		roles:      map[string]roleInfo{},
	}
}

// setNode records a node and reports whether that changes what is offered.
func (w *world) setNode(name string, info nodeInfo) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.nodes[name]
	w.nodes[name] = &info
	return !ok || !old.sameForScheduling(&info)
}

func (w *world) deleteNode(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.nodes, name)
}

func (w *world) node(name string) (nodeInfo, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	n, ok := w.nodes[name]
	if !ok {
		return nodeInfo{}, false
	}
	return *n, true
}

// setFramework records a framework seen at now and reports whether that
// changes what is offered.
func (w *world) setFramework(key types.NamespacedName, info frameworkInfo, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.frameworks[key]
	if info.suppressed() {
		info.SuppressedSince = now
		if ok && !old.SuppressedSince.IsZero() && old.UID == info.UID {
			info.SuppressedSince = old.SuppressedSince
		}
	}
	w.frameworks[key] = &info
	return !ok || !old.sameForScheduling(&info)
}

func (w *world) deleteFramework(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.frameworks, key)
}

func (w *world) framework(key types.NamespacedName) (frameworkInfo, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	f, ok := w.frameworks[key]
	if !ok {
		return frameworkInfo{}, false
	}
	return *f, true
}

// frameworkKeys returns the keys of every framework, sorted.
func (w *world) frameworkKeys() []types.NamespacedName {
	w.mu.RLock()
	keys := slices.Collect(maps.Keys(w.frameworks))
	w.mu.RUnlock()
	slices.SortFunc(keys, func(a, b types.NamespacedName) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return keys
}

func (w *world) setRole(name string, info roleInfo) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.roles[name]
	w.roles[name] = info
	return !ok || old.Weight != info.Weight || old.Limit != info.Limit || !old.Guarantee.Equal(info.Guarantee)
}

func (w *world) deleteRole(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.roles, name)
}
