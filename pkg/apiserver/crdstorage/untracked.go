package crdstorage

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
)

// UntrackedWhenCreated are the custom resources stored without
// managedFields when created: the master's Offers. The API server records
// who set which field on every create; an Offer is written by the master
// alone (created, closed through its status, declined by its framework's one
// patch, deleted), so that record serves no one, yet it was over half of
// every offer's size, copied into every cache and watch event of it, and
// read and written again by every later write. Stored without it, the offer
// is not tracked by later updates and patches either (only a server-side
// apply starts a record), as a Task is not once its bind clears it
// (v1alpha1.ResetManagedFields).
var UntrackedWhenCreated = map[schema.GroupResource]bool{
	{Group: "meseta.dev", Resource: "offers"}: true,
}

var managedFieldsPath = []string{"metadata", "managedFields"}

// untrackedWhenCreated is storage that stores created objects without
// managedFields (see UntrackedWhenCreated).
type untrackedWhenCreated struct {
	storage.Interface
}

// Create implements storage.Interface.
func (s untrackedWhenCreated) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		unstructured.RemoveNestedField(u.Object, managedFieldsPath...)
	}
	return s.Interface.Create(ctx, key, obj, out, ttl)
}
