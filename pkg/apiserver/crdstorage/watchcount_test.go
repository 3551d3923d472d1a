package crdstorage

import (
	"net/http"
	"net/http/httptest"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apiserver/pkg/endpoints/request"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
)

// countingFlowControl counts the watches registered with it.
type countingFlowControl struct {
	utilflowcontrol.Interface
	registered *int
}

func (c countingFlowControl) RegisterWatch(*http.Request) utilflowcontrol.ForgetWatchFunc {
	*c.registered++
	return func() { *c.registered-- }
}

func watchRequest(group, resource, subresource, query string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/apis/"+group+"/v1alpha1/"+resource+"?watch=true&"+query, nil)
	info := &request.RequestInfo{IsResourceRequest: true, Verb: "watch", APIGroup: group, Resource: resource, Subresource: subresource}
	return r.WithContext(request.WithRequestInfo(r.Context(), info))
}

func TestCountNodeIndexedWatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     *http.Request
		counted bool
	}{
		{"an agent's watch of its node's tasks", watchRequest("meseta.dev", "tasks", "", "fieldSelector=spec.nodeName%3Dn1"), false},
		{"one node among other fields", watchRequest("meseta.dev", "tasks", "", "fieldSelector=status.state%3DRunning,spec.nodeName%3Dn1"), false},
		{"every task", watchRequest("meseta.dev", "tasks", "", ""), true},
		{"unbound tasks", watchRequest("meseta.dev", "tasks", "", "fieldSelector=spec.nodeName%3D"), true},
		{"tasks bound to any node", watchRequest("meseta.dev", "tasks", "", "fieldSelector=spec.nodeName%21%3D"), true},
		{"a malformed selector", watchRequest("meseta.dev", "tasks", "", "fieldSelector=%3D%3D%3D"), true},
		{"offers of a node (no index)", watchRequest("meseta.dev", "offers", "", "fieldSelector=spec.nodeName%3Dn1"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			registered := 0
			fc := CountNodeIndexedWatches(countingFlowControl{registered: &registered})
			forget := fc.RegisterWatch(tc.req)
			if !tc.counted {
				g.Expect(registered).To(Equal(0))
				g.Expect(forget).To(BeNil())
				return
			}
			g.Expect(registered).To(Equal(1))
			forget()
			g.Expect(registered).To(Equal(0))
		})
	}
}

func TestCountNodeIndexedWatchesWithoutFlowControl(t *testing.T) {
	NewWithT(t).Expect(CountNodeIndexedWatches(nil)).To(BeNil())
}
