package crd

import (
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
		for _, plural := range RulesInGo {
			if c.Spec.Names.Plural != plural {
				continue
			}
			for i := range c.Spec.Versions {
				if v := c.Spec.Versions[i].Schema; v != nil && v.OpenAPIV3Schema != nil {
					dropRules(v.OpenAPIV3Schema)
				}
			}
		}
	}
	return crds, nil
}

// dropRules removes the x-kubernetes-validations of s and of every schema
// within it.
func dropRules(s *apiextensionsv1.JSONSchemaProps) {
	s.XValidations = nil
	for k, p := range s.Properties {
		dropRules(&p)
		s.Properties[k] = p
	}
	if s.Items != nil {
		if s.Items.Schema != nil {
			dropRules(s.Items.Schema)
		}
		for i := range s.Items.JSONSchemas {
			dropRules(&s.Items.JSONSchemas[i])
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		dropRules(s.AdditionalProperties.Schema)
	}
	for _, list := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range list {
			dropRules(&list[i])
		}
	}
	if s.Not != nil {
		dropRules(s.Not)
	}
}

// Rules returns the CEL rules of a CRD's schemas, by the path of the schema
// that holds them ("spec.resources.ports[]"), for tests that check that the
// rules of RulesInGo's resources all have their Go counterparts.
func Rules(c *apiextensionsv1.CustomResourceDefinition) map[string][]apiextensionsv1.ValidationRule {
	out := map[string][]apiextensionsv1.ValidationRule{}
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		if len(s.XValidations) > 0 {
			out[path] = append(out[path], s.XValidations...)
		}
		for k, p := range s.Properties {
			walk(join(path, k), &p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(path+"{}", s.AdditionalProperties.Schema)
		}
	}
	for _, v := range c.Spec.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			walk("", v.Schema.OpenAPIV3Schema)
		}
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
