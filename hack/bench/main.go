package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// env is what every scenario gets.
type env struct {
	// short runs the small sizes.
	short bool
	// timeline prints, per launch, how many tasks were created, bound and
	// Running in each second.
	timeline bool
	// profiles, when set, is where the master's CPU profile of each launch is
	// written.
	profiles string
	// meseta, runc and images are the built binaries and test images.
	meseta, runc, images string
	// memoryLimit is every master's --memory-limit; empty for the master's
	// default.
	memoryLimit string
	// tmp holds the masters' data dirs.
	tmp    string
	report *Report
}

// scenario is a named benchmark.
type scenario struct {
	name string
	run  func(ctx context.Context, env *env)
}

// scenarios in the order they run.
var scenarios = []scenario{
	{"allocator-core", benchAllocatorCore},
	{"offers-e2e", benchOffersE2E},
	{"launch-throughput", benchLaunchThroughput},
	{"launch-latency-real", benchLaunchLatencyReal},
	{"api", benchAPI},
	{"write-ceiling", benchWriteCeiling},
}

func main() {
	bin := filepath.Join(".", "bin")
	e := &env{report: &Report{}}
	only := flag.String("bench", os.Getenv("BENCH"), "comma-separated scenarios to run (default: $BENCH, else all): "+names())
	out := flag.String("out", filepath.Join(bin, "bench.json"), "where to write the JSON report")
	flag.BoolVar(&e.short, "short", os.Getenv("BENCH_SHORT") != "", "run small sizes only (default: $BENCH_SHORT set)")
	flag.BoolVar(&e.timeline, "timeline", false, "print each launch's per-second counts of tasks created, bound and Running")
	flag.StringVar(&e.profiles, "profiles", "", "a directory to write the master's CPU profile of each launch to (30s from the launch) and the bench's own (launch-bench-*: its simulated nodes, frameworks and watchers), the master's CPU profile of each kind of write of the write ceiling, its heap profile at the end of the api scenario, every master's log and the frameworks' log (frameworks.log)")
	flag.StringVar(&e.memoryLimit, "memory-limit", "3584Mi", "the --memory-limit of every master the scenarios start (empty: the master's default, none on a machine without a cgroup limit)")
	flag.StringVar(&e.meseta, "meseta", filepath.Join(bin, "meseta"), "the meseta binary")
	flag.StringVar(&e.runc, "runc", filepath.Join(bin, "runc"), "the runc binary")
	flag.StringVar(&e.images, "images", filepath.Join(bin, "images"), "the test images (make images)")
	flag.Parse()
	// The libraries' logs stay out of the table; with -profiles the
	// frameworks' own log (launch failures, errors) goes beside the masters'.
	klog.SetLogger(logr.Discard())
	ctrllog.SetLogger(logr.Discard())
	if e.profiles != "" {
		f, err := os.Create(filepath.Join(e.profiles, "frameworks.log"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		ctrllog.SetLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(f))))
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})

	selected, err := selectScenarios(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if e.tmp, err = os.MkdirTemp("", "meseta-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(e.tmp)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, s := range selected {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "bench: running %s\n", s.name)
		s.run(ctx, e)
	}
	fmt.Println()
	if e.memoryLimit != "" {
		e.report.MasterFlags = "--memory-limit " + e.memoryLimit
	}
	e.report.Print(os.Stdout)
	if err := e.report.WriteJSON(*out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("\nwritten to %s\n", *out)
}

// selectScenarios returns the scenarios named in a comma-separated list, all
// when it is empty.
func selectScenarios(list string) ([]scenario, error) {
	if strings.TrimSpace(list) == "" {
		return scenarios, nil
	}
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("-bench: unknown scenario %q; known: %s", name, names())
		}
		out = append(out, scenarios[i])
	}
	return out, nil
}

func names() string {
	var ns []string
	for _, s := range scenarios {
		ns = append(ns, s.name)
	}
	return strings.Join(ns, ", ")
}
