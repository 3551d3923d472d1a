package crdstorage

import (
	"net/http"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/request"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
)

// CountNodeIndexedWatches returns fc with its watch count made aware of the
// node index of NodeIndexed resources, as it is of the Pods' built in.
//
// Priority and fairness charges every write for the watches it may wake:
// the count of watches of the written resource, a seat per 10 of them, held
// for a while after the write returns. An agent's watch of its own node's
// Tasks (an exact spec.nodeName) is woken only by writes of that node's
// tasks, but counted for every Task write: with 5,000 agents each Task
// create was charged for 5,000 watches, 10 seats held for about a quarter
// of a second after it returned, and a framework's priority level of 18
// seats passed a few creates a second. Such a watch is not counted, as the
// Pods' kubelet watches are not; every other watch is, as before.
func CountNodeIndexedWatches(fc utilflowcontrol.Interface) utilflowcontrol.Interface {
	if fc == nil {
		return nil
	}
	return nodeIndexedWatches{fc}
}

type nodeIndexedWatches struct {
	utilflowcontrol.Interface
}

// RegisterWatch registers r with the wrapped tracker unless it watches the
// objects of one node of a NodeIndexed resource.
func (w nodeIndexedWatches) RegisterWatch(r *http.Request) utilflowcontrol.ForgetWatchFunc {
	if watchesOneNode(r) {
		return nil
	}
	return w.Interface.RegisterWatch(r)
}

// watchesOneNode reports whether r watches a NodeIndexed resource with a
// field selector that names one node exactly.
func watchesOneNode(r *http.Request) bool {
	info, ok := request.RequestInfoFrom(r.Context())
	if !ok || info == nil || info.Verb != "watch" {
		return false
	}
	field, ok := NodeIndexed[schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}]
	if !ok || info.Subresource != "" {
		return false
	}
	selector, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector"))
	if err != nil {
		return false
	}
	node, ok := selector.RequiresExactMatch(field)
	return ok && node != ""
}
