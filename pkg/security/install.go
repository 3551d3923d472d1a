package security

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/config/policy"
	"meseta.dev/meseta/config/rbac"
)

// resources maps the kinds the manifests may hold to their resources. A kind
// missing here is an error, not a guess.
var resources = map[schema.GroupVersionKind]string{
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}:                         "clusterroles",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}:                  "clusterrolebindings",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:                                "roles",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}:                         "rolebindings",
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"}:        "validatingadmissionpolicies",
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"}: "validatingadmissionpolicybindings",
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Kind: "PriorityLevelConfiguration"}:       "prioritylevelconfigurations",
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Kind: "FlowSchema"}:                       "flowschemas",
}

// Manifests decodes every object of config/rbac and config/policy, in the order
// Install applies them: RBAC first, so that the policies never refer to roles
// that do not exist yet.
func Manifests() ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, src := range []struct {
		fsys  fs.FS
		files []string
	}{{rbac.FS, rbac.Files()}, {policy.FS, policy.Files()}} {
		for _, name := range src.files {
			data, err := fs.ReadFile(src.fsys, name)
			if err != nil {
				return nil, err
			}
			decoded, err := decodeAll(data)
			if err != nil {
				return nil, fmt.Errorf("failed to decode %s: %w", name, err)
			}
			objs = append(objs, decoded...)
		}
	}
	return objs, nil
}

// decodeAll decodes a multi-document YAML file; empty documents are skipped.
func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		if _, ok := resources[obj.GroupVersionKind()]; !ok {
			return nil, fmt.Errorf("%s %s: kind %s is not one the installer knows", obj.GetAPIVersion(), obj.GetName(), obj.GetKind())
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("a %s has no metadata.name", obj.GetKind())
		}
		objs = append(objs, obj)
	}
}

// Install applies Meseta's RBAC roles and bindings, admission policies and
// priority levels with server-side apply, so a newer master updates what an
// older one installed. Objects dropped from the manifests are left in place.
// Namespaced objects go to meseta-system, which must exist.
func Install(ctx context.Context, cfg *rest.Config) error {
	objs, err := Manifests()
	if err != nil {
		return err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		gvr := gvk.GroupVersion().WithResource(resources[gvk])
		var target dynamic.ResourceInterface = client.Resource(gvr)
		if ns := obj.GetNamespace(); ns != "" {
			target = client.Resource(gvr).Namespace(ns)
		}
		if _, err := target.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("failed to apply %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
	}
	return nil
}
