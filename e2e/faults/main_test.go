package faults

import (
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// TestMain runs the tests, or the keeper framework when the binary was started
// as a framework process (startKeeper).
func TestMain(m *testing.M) {
	if name := os.Getenv(keeperEnv); name != "" {
		log.SetLogger(klog.Background())
		os.Exit(runKeeper(name))
	}
	log.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// soak reports whether the long soak variants run (make test-e2e-long).
func soak() bool { return os.Getenv("MESETA_FAULTS_SOAK") != "" }

// rounds is how many times the scenarios that can repeat their fault do:
// once, or five times in the soak variant.
func rounds() int {
	if soak() {
		return 5
	}
	return 1
}

// round picks one of n things, a different one each call, so that repeated
// rounds hit different nodes.
func round(n int) int {
	picks++
	return picks % n
}

var picks int

func metav1Duration(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }
