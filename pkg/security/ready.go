package security

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// admissionProbe is the ConfigMap that the last admission policy Install
// applies (meseta-admission-ready) refuses, and nothing else refuses.
const admissionProbe = "meseta-admission-probe"

// WaitForAdmissionPolicies waits until the API server enforces the
// admission policies Install applied: the admission plugin loads policies a
// moment after they are written, and until then they let every request
// through. It asks for a dry-run create of the probe ConfigMap in namespace
// (meseta-system) until the last policy refuses it (the plugin then holds
// that policy and every one applied before it), for at most timeout.
func WaitForAdmissionPolicies(ctx context.Context, cfg *rest.Config, namespace string, timeout time.Duration) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: admissionProbe, Namespace: namespace}}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, last = client.CoreV1().ConfigMaps(namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return refusedByProbe(last), nil
	})
	if err != nil {
		return fmt.Errorf("the admission policies were not enforced within %s (the last probe answered %v): %w", timeout, last, err)
	}
	return nil
}

// refusedByProbe reports whether err is the readiness policy's refusal.
func refusedByProbe(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "readiness probe")
}
