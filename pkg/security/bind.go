package security

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Bind grants the ClusterRole role to subject: in namespace with a RoleBinding,
// or cluster-wide with a ClusterRoleBinding when namespace is empty. The binding
// is named after the role and the subject, so binding twice is harmless. It
// returns the binding's name.
func Bind(ctx context.Context, client kubernetes.Interface, role, namespace string, subject rbacv1.Subject) (string, error) {
	name := bindingName(role, subject)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}
	meta := metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "mesetactl"}}
	var existing []rbacv1.Subject
	var existingRef rbacv1.RoleRef
	var err error
	if namespace == "" {
		b := &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
		_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, getErr := client.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
			if getErr != nil {
				return "", getErr
			}
			existing, existingRef = got.Subjects, got.RoleRef
		}
	} else {
		meta.Namespace = namespace
		b := &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
		_, err = client.RbacV1().RoleBindings(namespace).Create(ctx, b, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, getErr := client.RbacV1().RoleBindings(namespace).Get(ctx, name, metav1.GetOptions{})
			if getErr != nil {
				return "", getErr
			}
			existing, existingRef = got.Subjects, got.RoleRef
		}
	}
	switch {
	case err == nil:
		return name, nil
	case apierrors.IsAlreadyExists(err):
		if existingRef == ref && slices.Contains(existing, subject) {
			return name, nil
		}
		return "", fmt.Errorf("binding %s exists but does not grant %s to %s %s", name, role, subject.Kind, subject.Name)
	default:
		return "", fmt.Errorf("failed to bind %s to %s %s: %w", role, subject.Kind, subject.Name, err)
	}
}

func bindingName(role string, s rbacv1.Subject) string {
	who := s.Name
	if s.Kind == rbacv1.ServiceAccountKind {
		who = "sa:" + s.Namespace + ":" + s.Name
	} else if s.Kind == rbacv1.GroupKind {
		who = "group:" + s.Name
	}
	return role + ":" + who
}
