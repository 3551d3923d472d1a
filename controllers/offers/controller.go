package offers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/controllers/binding"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/resources"
)

// FieldOwner is the field manager of every status field the offer controller
// writes (server-side apply), and of the Offers it creates.
const FieldOwner = "meseta-allocator"

// Options configure the offer controller. The zero value of each field means
// its default.
type Options struct {
	// AllocationInterval is how often an allocation cycle runs when nothing
	// happens (the master's --allocation-interval; default 1s).
	AllocationInterval time.Duration
	// OfferTimeout, when positive, expires offers that long after they were made.
	OfferTimeout time.Duration
	// MinAllocatable is the smallest offer made (default cpus 0.01, mem 32Mi).
	MinAllocatable *resources.Vector
	// Debounce is how long a cycle waits after the first event that asks for
	// one, gathering more (default 10ms).
	Debounce time.Duration
	// Workers is how many API writes a cycle makes at once (default 32).
	Workers int
	// StatusInterval is how often changed Node, Framework and Role statuses are
	// written; an object's status is written at most once per interval
	// (default 2s).
	StatusInterval time.Duration
	// StatusBatch is the most statuses written per interval (default 500).
	StatusBatch int
	// ClosedOfferTTL is how long an offer that is no longer outstanding is kept
	// before it is deleted (default 1m).
	ClosedOfferTTL time.Duration
	// GCInterval is how often closed offers are collected and the ledger is
	// audited against the API (default 10s).
	GCInterval time.Duration
	// GCDeletesPerSecond is the pace at which closed offers are deleted when
	// few are due (default 100); a larger backlog is deleted at the pace that
	// clears it within one ClosedOfferTTL. Deletes are spread over each
	// GCInterval, a few at a time, oldest closed first: thousands of offers
	// rescinded together (every framework suppressing at the end of a burst)
	// are not deleted in one burst that would hold up agents' heartbeats.
	GCDeletesPerSecond float64
	// SuppressGrace is how long the outstanding offers of a framework that
	// suppressed offers stay before they are rescinded (default 5s).
	SuppressGrace time.Duration
	// Binding configures the task binding controllers.
	Binding binding.Options
	// Clock is the time source (default the real clock).
	Clock clock.WithTicker
	// WrapClient, when set, wraps the controller's API client (tests use it to
	// make the API server look slow).
	WrapClient func(client.WithWatch) client.WithWatch
}

func (o Options) complete() Options {
	if o.AllocationInterval <= 0 {
		o.AllocationInterval = time.Second
	}
	if o.MinAllocatable == nil {
		m := resources.DefaultMinAllocatable
		o.MinAllocatable = &m
	}
	if o.Debounce <= 0 {
		o.Debounce = 10 * time.Millisecond
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = 2 * time.Second
	}
	if o.StatusBatch <= 0 {
		o.StatusBatch = 500
	}
	if o.ClosedOfferTTL <= 0 {
		o.ClosedOfferTTL = time.Minute
	}
	if o.GCInterval <= 0 {
		o.GCInterval = 10 * time.Second
	}
	if o.GCDeletesPerSecond <= 0 {
		o.GCDeletesPerSecond = 100
	}
	if o.SuppressGrace <= 0 {
		o.SuppressGrace = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// OptionsFrom returns the controller's options for the master's scheduling
// options.
func OptionsFrom(s master.SchedulingOptions) (Options, error) {
	o := Options{AllocationInterval: s.AllocationInterval, OfferTimeout: s.OfferTimeout}
	if s.MinAllocatable != "" {
		m, err := resources.Parse(s.MinAllocatable)
		if err != nil {
			return o, fmt.Errorf("invalid --min-allocatable %q: %w", s.MinAllocatable, err)
		}
		o.MinAllocatable = &m
	}
	return o, nil
}

// Setup registers the offer controller and the binding controllers, which
// share one ledger, with the manager. It is a master.ControllerSetup.
func Setup(mgr ctrl.Manager, s master.SchedulingOptions) error {
	o, err := OptionsFrom(s)
	if err != nil {
		return err
	}
	_, err = New(mgr, o)
	return err
}

// Controller is the offer controller: a leader-elected loop that makes,
// closes and accounts for offers. Add it to a manager with New.
type Controller struct {
	opts    Options
	cache   cache.Cache
	api     client.Client // direct, not rate limited by the manager's client
	ledger  *ledger.Ledger
	world   *world
	filters *filters
	clock   clock.WithTicker
	metrics *metrics

	kick      chan struct{}
	seed      atomic.Uint64
	lastPlan  atomic.Pointer[planResult]
	declines  declineQueue
	rebuildMu sync.Mutex
	touched   *touchedKeys // non-nil while the ledger is being rebuilt
	revived   sync.Map     // framework key -> the spec.revive acted on (int64)
	// creating holds the keys of the offers a cycle added to the ledger and
	// has not finished creating (waiting for a worker, or their create in
	// flight): the audit leaves them alone (the API server answers NotFound
	// until the create lands, which under load takes longer than two audits).
	creating sync.Map // ledger.Key -> struct{}

	status *statusWriter
}

// New creates the offer controller and the binding controllers and adds them
// to the manager.
func New(mgr ctrl.Manager, o Options) (*Controller, error) {
	o = o.complete()
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.QPS, cfg.Burst = 5000, 10000
	api, err := client.NewWithWatch(cfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("failed to create the offer controller's client: %w", err)
	}
	if o.WrapClient != nil {
		api = o.WrapClient(api)
	}
	c := &Controller{
		opts:    o,
		cache:   mgr.GetCache(),
		api:     api,
		ledger:  ledger.New(),
		world:   newWorld(),
		filters: newFilters(),
		clock:   o.Clock,
		metrics: newMetrics(),
		kick:    make(chan struct{}, 1),
		touched: newTouchedKeys(),
	}
	c.status = newStatusWriter(c)
	if err := mgr.Add(c); err != nil {
		return nil, err
	}
	bo := o.Binding
	bo.Ledger, bo.Client, bo.Trigger, bo.Clock = c.ledger, api, c.Trigger, o.Clock
	if err := binding.Add(mgr, bo); err != nil {
		return nil, err
	}
	return c, nil
}

// Ledger returns the controller's ledger.
func (c *Controller) Ledger() *ledger.Ledger { return c.ledger }

// Trigger asks for an allocation cycle soon; it never blocks.
func (c *Controller) Trigger() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// NeedLeaderElection reports that the controller runs only on the leader.
func (c *Controller) NeedLeaderElection() bool { return true }

// Start runs the controller until ctx ends. In order it: registers its event
// handlers and waits until they have seen every object; rebuilds the ledger
// from a LIST of the API; starts the status writer and the collector of closed
// offers; and then runs an allocation cycle every AllocationInterval and soon
// after every event that may change what is offered.
func (c *Controller) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("offers")
	ctx = log.IntoContext(ctx, logger)
	if err := c.registerHandlers(ctx); err != nil {
		return err
	}
	for {
		err := c.rebuild(ctx)
		if err == nil {
			break
		}
		logger.Error(err, "Failed to rebuild the ledger; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-c.clock.After(time.Second):
		}
	}
	go c.status.run(ctx)
	go c.collect(ctx)
	ticker := c.clock.NewTicker(c.opts.AllocationInterval)
	defer ticker.Stop()
	for {
		c.cycle(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		case <-c.kick:
			select {
			case <-ctx.Done():
				return nil
			case <-c.clock.After(c.opts.Debounce):
			}
			select { // events during the debounce are served by this cycle
			case <-c.kick:
			default:
			}
		}
	}
}
