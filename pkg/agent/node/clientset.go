package node

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// NewClientset returns a clientset of Kubernetes' built-in kinds (the
// heartbeat's Leases, certificate requests) that speaks protobuf to the API
// server, as Kubernetes' own components do: a Lease renewal, the one write
// every node makes every interval, costs the master less to decode and store
// than its JSON. Meseta's own kinds are served as JSON and are not reached
// through it.
func NewClientset(cfg *rest.Config) (kubernetes.Interface, error) {
	pc := rest.CopyConfig(cfg)
	pc.ContentType = runtime.ContentTypeProtobuf
	pc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return kubernetes.NewForConfig(pc)
}
