package security

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
)

// BootstrapTokenNodeKey is the key of an agent bootstrap token's Secret that
// pins the token to one node: the master approves certificates only for that
// node's identity.
const BootstrapTokenNodeKey = "meseta-node-name"

// BootstrapTokenOptions describe a new agent bootstrap token.
type BootstrapTokenOptions struct {
	// TTL is how long the token authenticates; zero means it never expires.
	TTL time.Duration
	// NodeName, when set, restricts the token to the identity of that node.
	NodeName string
	// Description is a note for admins listing tokens.
	Description string
}

// CreateBootstrapToken stores a new agent bootstrap token (a Secret of type
// bootstrap.kubernetes.io/token in kube-system, as kubeadm's) and returns it as
// "<id>.<secret>". Its holder authenticates as system:bootstrap:<id> in group
// system:bootstrappers:meseta:agents and may only ask for a node client
// certificate. It returns once the API server accepts the token (it learns of
// the Secret a moment after the write), so the token works at once; a token
// that expires within a minute is returned without waiting.
func CreateBootstrapToken(ctx context.Context, client kubernetes.Interface, o BootstrapTokenOptions) (string, error) {
	if o.TTL < 0 {
		return "", fmt.Errorf("invalid token TTL %s: must be zero (never expires) or positive", o.TTL)
	}
	if o.NodeName != "" {
		if errs := validation.IsDNS1123Subdomain(o.NodeName); len(errs) > 0 {
			return "", fmt.Errorf("invalid node name %q: %s", o.NodeName, strings.Join(errs, "; "))
		}
	}
	token, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return "", fmt.Errorf("failed to generate a bootstrap token: %w", err)
	}
	id, secret, _ := strings.Cut(token, ".")
	description := o.Description
	if description == "" {
		description = "Meseta agent bootstrap token"
	}
	data := map[string]string{
		bootstrapapi.BootstrapTokenIDKey:               id,
		bootstrapapi.BootstrapTokenSecretKey:           secret,
		bootstrapapi.BootstrapTokenDescriptionKey:      description,
		bootstrapapi.BootstrapTokenUsageAuthentication: "true",
		bootstrapapi.BootstrapTokenExtraGroupsKey:      AgentBootstrapGroup,
	}
	if o.TTL > 0 {
		data[bootstrapapi.BootstrapTokenExpirationKey] = time.Now().Add(o.TTL).UTC().Format(time.RFC3339)
	}
	if o.NodeName != "" {
		data[BootstrapTokenNodeKey] = o.NodeName
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      bootstraputil.BootstrapTokenSecretName(id),
			Namespace: metav1.NamespaceSystem,
			Labels:    map[string]string{"app.kubernetes.io/part-of": "meseta"},
		},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		StringData: data,
	}
	if _, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, s, metav1.CreateOptions{FieldManager: "meseta-token"}); err != nil {
		return "", fmt.Errorf("failed to store the bootstrap token: %w", err)
	}
	if o.TTL > 0 && o.TTL < 2*tokenAcceptTimeout {
		return token, nil // it may expire before the server would accept it
	}
	if err := waitUntilAccepted(ctx, client, token, tokenAcceptTimeout); err != nil {
		return "", fmt.Errorf("stored bootstrap token %s, but %w", id, err)
	}
	return token, nil
}

// tokenAcceptTimeout bounds how long CreateBootstrapToken waits for the API
// server to accept the token it stored.
const tokenAcceptTimeout = 30 * time.Second

// waitUntilAccepted waits until the API server authenticates token (a
// TokenReview). The server reads token Secrets from its own cache, which
// learns of a new Secret a moment after the write, and refuses the token
// until then: an agent started at once with it would be refused. A caller
// that may not review tokens does not wait.
func waitUntilAccepted(ctx context.Context, client kubernetes.Interface, token string, timeout time.Duration) error {
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		r, err := client.AuthenticationV1().TokenReviews().Create(ctx, review, metav1.CreateOptions{})
		switch {
		case apierrors.IsForbidden(err):
			return true, nil
		case err != nil:
			last = err
			return false, nil
		}
		last = errors.New("the token is not authenticated yet")
		if r.Status.Error != "" {
			last = fmt.Errorf("the token is not authenticated yet: %s", r.Status.Error)
		}
		return r.Status.Authenticated, nil
	})
	if err != nil {
		return fmt.Errorf("the API server did not accept it within %s (is bootstrap token authentication on?): %v", timeout, last)
	}
	return nil
}
