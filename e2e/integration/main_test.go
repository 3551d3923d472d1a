package integration

import (
	"os"
	"testing"

	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// The API server logs a lot at start; keep test output readable.
	klog.SetOutput(os.Stderr)
	os.Exit(m.Run())
}
