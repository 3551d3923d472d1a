package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/pki"
)

// identity is one client of the cluster in a security test.
type identity struct {
	name   string
	config *rest.Config
	client client.Client
}

// certIdentity returns a client authenticated by a certificate from the cluster
// CA for user in groups, as mesetactl create kubeconfig or agent bootstrap
// would give.
func certIdentity(t testing.TB, m *mastertest.Master, user string, groups ...string) identity {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(m.DataDir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	file := strings.NewReplacer(":", "-", "/", "-").Replace(user)
	pair, err := ca.LoadOrCreateClient(t.TempDir(), file, user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(m.RESTConfig())
	cfg.CertFile, cfg.KeyFile = pair.CertFile, pair.KeyFile
	return newIdentity(t, user, cfg)
}

// serviceAccountIdentity creates a service account in namespace and returns a
// client with a token minted for it, as a framework runs.
func serviceAccountIdentity(t testing.TB, m *mastertest.Master, namespace, name string) identity {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(m.RESTConfig())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitTokenAuthenticated(t, cs, name, tr.Status.Token)
	cfg := rest.AnonymousClientConfig(m.RESTConfig())
	cfg.BearerToken = tr.Status.Token
	return newIdentity(t, "system:serviceaccount:"+namespace+":"+name, cfg)
}

// waitTokenAuthenticated waits until the master authenticates the token of
// the service account name: it does once its cache of service accounts
// holds the account, and a token used at once may be refused (401) for a
// moment before.
func waitTokenAuthenticated(t testing.TB, cs kubernetes.Interface, name, token string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		review, err := cs.AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		return err == nil && review.Status.Authenticated, nil
	})
	if err != nil {
		t.Fatalf("the master did not authenticate the token of service account %s: %v", name, err)
	}
}

func newIdentity(t testing.TB, name string, cfg *rest.Config) identity {
	t.Helper()
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: master.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return identity{name: name, config: cfg, client: c}
}

// bind grants a ClusterRole to a subject, cluster-wide when namespace is empty,
// else in that namespace.
func bind(t testing.TB, c client.Client, role, namespace string, subject rbacv1.Subject) {
	t.Helper()
	name := strings.NewReplacer(":", "-").Replace(role + "-" + subject.Name)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}
	var obj client.Object = &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
	if namespace != "" {
		obj = &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}
	}
	if err := c.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
}

func serviceAccountSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// policyWait is how long a test waits for RBAC and admission policy changes to
// reach the API server's caches.
const policyWait = 20 * time.Second
