package v1alpha1_test

import (
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"meseta.dev/meseta/config/crd"
)

// runningTask is a Task as an agent's last status write of a launch leaves
// it: bound, with its finalizer, Running.
const runningTask = `{"apiVersion":"meseta.dev/v1alpha1","kind":"Task",
"metadata":{"name":"launch-0","namespace":"bench","finalizers":["meseta.dev/task"],"labels":{"meseta.dev/framework":"launch"}},
"spec":{"container":{"command":["sleep","infinity"],"image":"oci:/var/lib/images/busybox"},"framework":"launch",
"killGracePeriod":"3s","nodeName":"sim-00003","offers":["launch-sim-00003-1"],"resources":{"cpus":"100m","mem":"32Mi"}},
"status":{"containerID":"bench_launch-0_5a702615","startedAt":"2026-12-06T09:01:37Z","state":"Running"}}`

// statusWrite returns a Running task and the Starting one it replaces.
func statusWrite(b *testing.B) (obj, old map[string]any) {
	decode := func() map[string]any {
		var obj map[string]any
		if err := utiljson.Unmarshal([]byte(runningTask), &obj); err != nil {
			b.Fatal(err)
		}
		return obj
	}
	obj, old = decode(), decode()
	old["status"].(map[string]any)["state"] = "Starting"
	return obj, old
}

// BenchmarkTaskStatusUpdateCEL is the CEL validation the API server would run
// on every status write of a Task (Starting to Running) with the generated
// CRD's rules: the rules of the whole object, spec included, with the old
// object for transition rules. Every launched task would pay it three times;
// the master serves the Task CRD without them and checks the write in Go
// (package taskadmission's BenchmarkStatusWrite).
func BenchmarkTaskStatusUpdateCEL(b *testing.B) {
	generated, err := crd.Definition("tasks")
	if err != nil {
		b.Fatal(err)
	}
	s, err := newCRDSchema(generated)
	if err != nil {
		b.Fatal(err)
	}
	obj, old := statusWrite(b)
	b.ReportAllocs()
	for b.Loop() {
		if errs, _ := s.cel.Validate(b.Context(), nil, s.structural, obj, old, celconfig.RuntimeCELCostBudget); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
