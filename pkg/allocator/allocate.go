package allocator

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// nres is the number of scalar resources, the length of the arrays below.
const nres = resources.NumScalars

// The two phases of a cycle.
const (
	// phaseGuarantee offers only to roles below their guarantee, up to it.
	phaseGuarantee = iota
	// phaseFair offers to every role in weighted DRF order, up to its limit.
	phaseFair
)

// allocator holds the state of one cycle.
type allocator struct {
	s         *Snapshot
	now       int64
	invTotal  [nres]float64
	globalMin [nres]int64

	nodes   []nodeState
	nodeIdx map[string]int32
	// filters on node i are filterFw/filterUntil[filterStart[i]:filterStart[i+1]].
	filterStart []int32
	filterFw    []int32
	filterUntil []int64

	fws   []fwState
	fwIdx map[types.NamespacedName]int32
	roles map[string]*roleState
	root  entity

	offers    []Offer
	offerNext []int32 // next offer on the same node, -1 at the end

	phase   int
	visit   uint32 // counts (phase, node) visits
	curNode int32

	nodeSkips []nodeSkip
}

type nodeState struct {
	free  [nres]int64
	ports resources.PortSet
	gpu   bool
	dup   bool
	skip  Reason
	// firstOffer is the index of the first offer on the node this cycle, -1 if
	// none.
	firstOffer int32
}

type fwState struct {
	ent   *entity
	role  *roleState
	level Reason // ReasonInactive or ReasonSuppressed: no offers at all
	min   [nres]int64
	gpuOK bool
	// filteredAt is the visit on which the framework is filtered, until when.
	filteredAt uint32
	until      int64
	recordedAt uint32
	offers     int32
	skips      [numPairReasons]skipLog
}

type roleState struct {
	name       string
	parent     *roleState
	weight     float64
	limited    uint8
	limit      [nres]int64
	guaranteed uint8
	guarantee  [nres]int64
	unmet      bool
	// ent is the role's tree entity; consumed is kept there even when the role
	// is not in the tree.
	ent        entity
	inTree     bool
	own        []*entity // the role's own frameworks that may get offers
	childRoles []*roleState
	ownUse     [nres]int64 // what the role's own frameworks hold
	frameworks int32
	rank       int32
	recordedAt uint32
	limitSkip  skipLog
}

// sampleSize is how many node names a skip keeps as examples.
const sampleSize = 5

// skipLog counts the nodes skipped for one reason and keeps a few examples.
type skipLog struct {
	count  int32
	sample [sampleSize]int32
	// Details of the first skip.
	until   int64             // ReasonDeclined: end of the filter, unix nanoseconds
	deficit resources.Deficit // ReasonBelowMinimum, ReasonLimitReached
	role    *roleState        // ReasonLimitReached: the role whose limit binds
}

// add counts a skip on node and reports whether it is the first.
func (l *skipLog) add(node int32) bool {
	if l.count < sampleSize {
		l.sample[l.count] = node
	}
	l.count++
	return l.count == 1
}

type nodeSkip struct {
	node    int32
	reason  Reason
	deficit resources.Deficit
}

// Allocate runs one allocation cycle over the snapshot and returns the offers
// to make, with the reason for every (framework, node) pair that got none.
//
// A cycle has two phases, each visiting the schedulable, ready nodes in an
// order shuffled by the seed. In the guarantee phase only roles below their
// guarantee take part, each offered at most what it lacks of each guaranteed
// resource. In the fair phase every role does, up to its limit. On each node
// the free resources go to the first framework in weighted DRF order that may
// take them (not filtered, enough for its minimum): roles by weighted dominant
// share among siblings, then frameworks by dominant share within the role.
// Only when a limit cuts an offer short does the rest go to the next framework.
// Offered resources count as allocated at once, so shares stay fair within the
// cycle; a framework gets at most one offer per node per cycle.
func Allocate(s *Snapshot) *Plan {
	a := &allocator{s: s, now: unixNano(s.Now)}
	a.indexNodes()
	a.buildRoles()
	a.buildFrameworks()
	a.buildTree()
	a.prepareNodes()
	a.indexFilters()
	order := a.nodeOrder()
	// Usually each node is offered once.
	a.offers = make([]Offer, 0, len(order))
	a.offerNext = make([]int32, 0, len(order))
	if len(a.root.children) > 0 {
		if a.root.unmet > 0 {
			a.runPhase(phaseGuarantee, order)
		}
		a.runPhase(phaseFair, order)
	}
	return a.plan()
}

// unixNano returns t in nanoseconds since 1970, clamped to the int64 range
// (time.Time.UnixNano is undefined outside it, for example for the zero time).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func addSat(x, y int64) int64 {
	s := x + y
	if s < x && y > 0 {
		return math.MaxInt64
	}
	return s
}

func subSat(x, y int64) int64 {
	if x <= y {
		return 0
	}
	return x - y
}
