package crd

import (
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// RulesInGo are the resources whose CEL rules (x-kubernetes-validations) the
// master enforces in Go, in admission, instead (package taskvalidation):
// their CRDs are served without them. Tasks are written at launch rates,
// five writes each, and the API server evaluates every rule of the whole
// object at each write, status writes included.
var RulesInGo = []string{"tasks"}

// Served returns the CRDs as the master serves them: Definitions, less the
// CEL rules of RulesInGo's resources.
func Served() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := Definitions()
	if err != nil {
		return nil, err
	}
	for _, c := range crds {
		if slices.Contains(RulesInGo, c.Spec.Names.Plural) {
			eachSchema(c, func(_ string, s *apiextensionsv1.JSONSchemaProps) { s.XValidations = nil })
		}
	}
	return crds, nil
}

// Rules returns the CEL rules of a CRD's schemas, by the path of the schema
// that holds them ("spec.resources.ports[]"), for tests that check that the
// rules of RulesInGo's resources all have their Go counterparts.
func Rules(c *apiextensionsv1.CustomResourceDefinition) map[string][]apiextensionsv1.ValidationRule {
	out := map[string][]apiextensionsv1.ValidationRule{}
	eachSchema(c, func(path string, s *apiextensionsv1.JSONSchemaProps) {
		if len(s.XValidations) > 0 {
			out[path] = append(out[path], s.XValidations...)
		}
	})
	return out
}

// eachSchema calls visit, which may change what it is given, with every
// schema of c's versions and every schema within them, each with its path:
// "spec.resources" for a property, "[]" after an array's items, "{}" after
// a map's values, "|" after a schema for one of allOf, anyOf, oneOf and not.
func eachSchema(c *apiextensionsv1.CustomResourceDefinition, visit func(path string, s *apiextensionsv1.JSONSchemaProps)) {
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		visit(path, s)
		for k, p := range s.Properties {
			walk(join(path, k), &p)
			s.Properties[k] = p
		}
		if s.Items != nil {
			if s.Items.Schema != nil {
				walk(path+"[]", s.Items.Schema)
			}
			for i := range s.Items.JSONSchemas {
				walk(path+"[]", &s.Items.JSONSchemas[i])
			}
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
		for _, list := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
			for i := range list {
				walk(path+"|", &list[i])
			}
		}
		if s.Not != nil {
			walk(path+"|", s.Not)
		}
	}
	for _, v := range c.Spec.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			walk("", v.Schema.OpenAPIV3Schema)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
