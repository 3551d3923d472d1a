// Package crd embeds Meseta's CustomResourceDefinitions, generated into bases/ by
// `make manifests` from the types in meseta.dev/meseta/apis/v1alpha1, so that the
// master can install them without reading files at run time. Served is what
// the master installs: the Task CRD without its CEL rules, which the master
// enforces in Go (RulesInGo):
//
//	crds, err := crd.Served()
//	if err != nil {
//		return err
//	}
//	for _, c := range crds {
//		// create or update c
//	}
package crd

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed bases/*.yaml
var bases embed.FS

// Definitions decodes the embedded CRDs and returns them ordered by file name
// (meseta.dev_apps.yaml first). Every call returns new objects, which the caller
// may modify.
func Definitions() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := fs.Glob(bases, "bases/*.yaml")
	if err != nil {
		return nil, err
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(files))
	for _, name := range files {
		data, err := bases.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("failed to read CRD %s: %w", path.Base(name), err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("failed to decode CRD %s: %w", path.Base(name), err)
		}
		if crd.APIVersion != apiextensionsv1.SchemeGroupVersion.String() || crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s is a %s %s, not an apiextensions.k8s.io/v1 CustomResourceDefinition", path.Base(name), crd.APIVersion, crd.Kind)
		}
		crds = append(crds, crd)
	}
	return crds, nil
}

// Definition returns the embedded CRD of a resource of group meseta.dev by its
// plural name, for example Definition("tasks").
func Definition(plural string) (*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := Definitions()
	if err != nil {
		return nil, err
	}
	for _, crd := range crds {
		if crd.Spec.Names.Plural == plural {
			return crd, nil
		}
	}
	return nil, fmt.Errorf("no CRD for resource %q", plural)
}
