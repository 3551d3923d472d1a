package v1alpha1_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/config/crd"
	"meseta.dev/meseta/pkg/taskvalidation"
)

// crdSchema validates objects of one kind the way the master does for a
// custom resource it serves, without an API server: prune unknown fields
// (reported as errors, like strict field validation), apply defaults,
// validate against the OpenAPI schema and list types, then run the CEL rules,
// with the old object for transition rules on update, and, for the kinds
// whose rules are in Go (crd.RulesInGo), the master's admission of them.
type crdSchema struct {
	crd        *apiextensionsv1.CustomResourceDefinition
	internal   *apiextensions.CustomResourceDefinition
	structural *schema.Structural
	openAPI    validation.SchemaValidator
	cel        *cel.Validator
	rulesInGo  bool
}

var (
	// loadSchemas loads the CRDs as the master serves them.
	loadSchemas = sync.OnceValues(func() (map[string]*crdSchema, error) {
		crds, err := crd.Served()
		if err != nil {
			return nil, err
		}
		schemas := map[string]*crdSchema{}
		for _, c := range crds {
			s, err := newCRDSchema(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			schemas[c.Spec.Names.Kind] = s
		}
		return schemas, nil
	})
)

// schemaFor returns the schema of a kind, failing the test when the CRDs do not
// load.
func schemaFor(t *testing.T, kind string) *crdSchema {
	t.Helper()
	schemas, err := loadSchemas()
	if err != nil {
		t.Fatalf("failed to load CRDs: %v", err)
	}
	s, ok := schemas[kind]
	if !ok {
		t.Fatalf("no CRD for kind %s", kind)
	}
	return s
}

func newCRDSchema(c *apiextensionsv1.CustomResourceDefinition) (*crdSchema, error) {
	defaulted := c.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(defaulted)
	internal := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(defaulted, internal, nil); err != nil {
		return nil, err
	}
	// The internal form holds the schema of a CRD whose versions share one at the
	// top level.
	if internal.Spec.Validation == nil || internal.Spec.Validation.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("no schema")
	}
	props := internal.Spec.Validation.OpenAPIV3Schema
	structural, err := schema.NewStructural(props)
	if err != nil {
		return nil, err
	}
	openAPI, _, err := validation.NewSchemaValidator(props)
	if err != nil {
		return nil, err
	}
	return &crdSchema{
		crd:        c,
		internal:   internal,
		structural: structural,
		openAPI:    openAPI,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
		rulesInGo:  slices.Contains(crd.RulesInGo, c.Spec.Names.Plural),
	}, nil
}

// validateCRD runs the API server's validation of the CRD itself: structural
// schema, valid defaults, CEL rules that compile within the cost limits,
// printer columns and selectable fields.
func (s *crdSchema) validateCRD(ctx context.Context) field.ErrorList {
	return crdvalidation.ValidateCustomResourceDefinition(ctx, s.internal)
}

// admit prunes (unknown fields and nulls), defaults and validates obj, an object decoded from JSON, in
// place. old is nil on create.
func (s *crdSchema) admit(ctx context.Context, obj, old map[string]any) field.ErrorList {
	var errs field.ErrorList
	unknown := pruning.PruneWithOptions(obj, s.structural, true, schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(path), nil, "unknown field"))
	}
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, s.structural)
	defaulting.Default(obj, s.structural)
	errs = append(errs, validation.ValidateCustomResource(nil, obj, s.openAPI)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	var oldObj any
	if old != nil {
		defaulting.Default(old, s.structural)
		oldObj = old
	}
	celErrs, _ := s.cel.Validate(ctx, nil, s.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	if s.rulesInGo && len(errs) == 0 {
		errs = append(errs, admitTask(obj, old)...)
	}
	return errs
}

// admitTask runs the master's admission of a Task (package taskadmission):
// the rules of package taskvalidation on the object as the schema left it.
func admitTask(obj, old map[string]any) field.ErrorList {
	task, err := asTask(obj)
	if err != nil {
		return field.ErrorList{err}
	}
	if old == nil {
		return taskvalidation.Create(task)
	}
	was, err := asTask(old)
	if err != nil {
		return field.ErrorList{err}
	}
	return taskvalidation.Update(task, was)
}

func asTask(obj map[string]any) (*v1alpha1.Task, *field.Error) {
	task := &v1alpha1.Task{}
	if err := apiruntime.DefaultUnstructuredConverter.FromUnstructured(obj, task); err != nil {
		return nil, field.InternalError(nil, err)
	}
	return task, nil
}

// decodeYAML decodes one YAML document into a JSON-like map, with integers as
// int64 as the API server decodes them.
func decodeYAML(t *testing.T, doc string) map[string]any {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("bad YAML in test: %v\n%s", err, doc)
	}
	obj := map[string]any{}
	if err := utiljson.Unmarshal(data, &obj); err != nil {
		t.Fatalf("bad YAML in test: %v\n%s", err, doc)
	}
	return obj
}

// splitYAML splits a multi-document YAML file into documents, dropping empty
// ones.
func splitYAML(data string) []string {
	var docs []string
	for _, doc := range strings.Split("\n"+data, "\n---") {
		if strings.TrimSpace(stripComments(doc)) != "" {
			docs = append(docs, doc)
		}
	}
	return docs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lookup returns the value at a dotted path of obj, or nil.
func lookup(obj map[string]any, path string) any {
	var cur any = obj
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[key]
	}
	return cur
}
