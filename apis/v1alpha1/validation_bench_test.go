package v1alpha1_test

import (
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// runningTask is a Task as an agent's last status write of a launch leaves
// it: bound, with its finalizer, Running.
const runningTask = `{"apiVersion":"meseta.dev/v1alpha1","kind":"Task",
"metadata":{"name":"launch-0","namespace":"bench","finalizers":["meseta.dev/task"],"labels":{"meseta.dev/framework":"launch"}},
"spec":{"container":{"command":["sleep","infinity"],"image":"oci:/var/lib/images/busybox"},"framework":"launch",
"killGracePeriod":"3s","nodeName":"sim-00003","offers":["launch-sim-00003-1"],"resources":{"cpus":"100m","mem":"32Mi"}},
"status":{"containerID":"bench_launch-0_5a702615","startedAt":"2026-12-06T09:01:37Z","state":"Running"}}`

// BenchmarkTaskStatusUpdateCEL is the CEL validation the API server runs on
// every status write of a Task (Starting to Running): the CRD's rules on the
// whole object, spec included, with the old object for transition rules.
// Every launched task pays it three times.
func BenchmarkTaskStatusUpdateCEL(b *testing.B) {
	schemas, err := loadSchemas()
	if err != nil {
		b.Fatal(err)
	}
	s := schemas["Task"]
	decode := func() map[string]any {
		var obj map[string]any
		if err := utiljson.Unmarshal([]byte(runningTask), &obj); err != nil {
			b.Fatal(err)
		}
		return obj
	}
	obj, old := decode(), decode()
	old["status"].(map[string]any)["state"] = "Starting"
	b.ReportAllocs()
	for b.Loop() {
		if errs, _ := s.cel.Validate(b.Context(), nil, s.structural, obj, old, celconfig.RuntimeCELCostBudget); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
