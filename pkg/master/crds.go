package master

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
)

// installCRDs creates or updates every CRD and waits until all are
// established and their schemas published in the OpenAPI v3 document (which
// kubectl explain and client-side validation read), so that a master that
// says it is ready serves them whole.
func installCRDs(ctx context.Context, cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	api := client.ApiextensionsV1().CustomResourceDefinitions()
	for _, crd := range crds {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			existing, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				_, err = api.Create(ctx, crd.DeepCopy(), metav1.CreateOptions{FieldManager: "meseta-master"})
				return err
			}
			if err != nil {
				return err
			}
			updated := crd.DeepCopy()
			updated.ResourceVersion = existing.ResourceVersion
			_, err = api.Update(ctx, updated, metav1.UpdateOptions{FieldManager: "meseta-master"})
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to install CRD %s: %w", crd.Name, err)
		}
	}
	for _, crd := range crds {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := api.Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s was not established: %w", crd.Name, err)
		}
	}
	return waitForOpenAPI(ctx, client.Discovery().RESTClient(), crds)
}

// waitForOpenAPI waits until the OpenAPI v3 document of every CRD's group
// and version holds the CRD's schema. The API server publishes it a moment
// after the CRD is established.
func waitForOpenAPI(ctx context.Context, rc rest.Interface, crds []*apiextensionsv1.CustomResourceDefinition) error {
	want := map[string][]string{} // the schema names each group-version document must hold
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				path := "/openapi/v3/apis/" + crd.Spec.Group + "/" + v.Name
				want[path] = append(want[path], openAPIModelName(crd.Spec.Group, v.Name, crd.Spec.Names.Kind))
			}
		}
	}
	for path, names := range want {
		var missing []string
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			raw, err := rc.Get().AbsPath(path).DoRaw(ctx)
			if err != nil {
				missing = names
				return false, nil
			}
			var doc struct {
				Components struct {
					Schemas map[string]json.RawMessage `json:"schemas"`
				} `json:"components"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				return false, fmt.Errorf("failed to read %s: %w", path, err)
			}
			missing = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return doc.Components.Schemas[n] != nil })
			return len(missing) == 0, nil
		})
		if err != nil {
			return fmt.Errorf("the OpenAPI document %s lacks the schemas %s: %w", path, strings.Join(missing, ", "), err)
		}
	}
	return nil
}

// openAPIModelName is the name of a CRD kind's schema in the OpenAPI
// document: the group's labels reversed, the version and the kind
// (meseta.dev, v1alpha1, Task: dev.meseta.v1alpha1.Task).
func openAPIModelName(group, version, kind string) string {
	labels := strings.Split(group, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "." + version + "." + kind
}
