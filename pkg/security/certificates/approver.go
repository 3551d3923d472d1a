package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	capi "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	certificatesinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/certificates"

	"meseta.dev/meseta/pkg/security"
)

// Subresources of certificatesigningrequests that RBAC grants to those whose
// node client certificate requests the master approves by itself.
const (
	// NodeClientSubresource: asking for any node's identity (bootstrap tokens).
	NodeClientSubresource = "mesetanodeclient"
	// SelfNodeClientSubresource: a node renewing its own identity.
	SelfNodeClientSubresource = "selfmesetanodeclient"
)

// Reasons of the conditions the approver sets.
const (
	ReasonAutoApproved = "MesetaNodeAutoApproved"
	ReasonWrongNode    = "MesetaTokenPinnedToAnotherNode"
)

// bootstrapUserPrefix starts the user name of a bootstrap token's holder.
const bootstrapUserPrefix = "system:bootstrap:"

// nodeApprover approves node client certificate requests; see the package doc.
type nodeApprover struct {
	client  kubernetes.Interface
	secrets corelisters.SecretLister
}

func newNodeApprover(ctx context.Context, client kubernetes.Interface, csrs certificatesinformers.CertificateSigningRequestInformer, secrets corelisters.SecretLister) *certificates.CertificateController {
	a := &nodeApprover{client: client, secrets: secrets}
	return certificates.NewCertificateController(ctx, "meseta-node-csr-approver", client, csrs, a.handle)
}

// handle decides one request. Requests that are not node client requests, or
// whose requester may not have them approved, are left for a human.
func (a *nodeApprover) handle(ctx context.Context, csr *capi.CertificateSigningRequest) error {
	if csr.Spec.SignerName != capi.KubeAPIServerClientSignerName || len(csr.Status.Certificate) > 0 {
		return nil
	}
	if approved, denied := certificates.GetCertApprovalCondition(&csr.Status); approved || denied {
		return nil
	}
	node, err := nodeClientRequest(csr)
	if err != nil {
		klog.FromContext(ctx).V(4).Info("Not a node client certificate request", "csr", csr.Name, "reason", err.Error())
		return nil
	}
	subresource := NodeClientSubresource
	if csr.Spec.Username == security.NodeUser(node) && slices.Contains(csr.Spec.Groups, security.NodesGroup) {
		subresource = SelfNodeClientSubresource
	}
	allowed, err := a.authorized(ctx, csr, subresource)
	if err != nil || !allowed {
		return err
	}
	if subresource == NodeClientSubresource {
		pinned, known, err := a.pinnedNode(csr.Spec.Username)
		if err != nil {
			return err
		}
		if !known {
			// The token is gone (expired and cleaned up, or revoked).
			return nil
		}
		if pinned != "" && pinned != node {
			return a.decide(ctx, csr, capi.CertificateDenied, ReasonWrongNode,
				fmt.Sprintf("the bootstrap token of %s may only ask for the identity of node %s, not %s", csr.Spec.Username, pinned, node))
		}
	}
	return a.decide(ctx, csr, capi.CertificateApproved, ReasonAutoApproved,
		fmt.Sprintf("node client certificate for %s requested by %s", node, csr.Spec.Username))
}

// nodeClientRequest returns the node a request asks a client certificate for,
// or why it is not such a request: subject CN meseta:node:<node>, O meseta:nodes
// alone, no SANs, client auth (with digital signature and key encipherment
// allowed), and a valid self-signature.
func nodeClientRequest(csr *capi.CertificateSigningRequest) (string, error) {
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return "", errors.New("no PEM certificate request")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", err
	}
	if err := req.CheckSignature(); err != nil {
		return "", err
	}
	node, ok := security.NodeFromUser(req.Subject.CommonName)
	if !ok {
		return "", fmt.Errorf("common name %q does not start with %s", req.Subject.CommonName, security.NodeUserPrefix)
	}
	if errs := validation.IsDNS1123Subdomain(node); len(errs) > 0 {
		return "", fmt.Errorf("node name %q: %s", node, strings.Join(errs, "; "))
	}
	if !slices.Equal(req.Subject.Organization, []string{security.NodesGroup}) {
		return "", fmt.Errorf("organization %v is not [%s]", req.Subject.Organization, security.NodesGroup)
	}
	if len(req.Subject.OrganizationalUnit) > 0 {
		return "", errors.New("organizational units are not allowed")
	}
	if len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) > 0 {
		return "", errors.New("subject alternative names are not allowed")
	}
	if !slices.Contains(csr.Spec.Usages, capi.UsageClientAuth) {
		return "", errors.New("client auth usage missing")
	}
	for _, u := range csr.Spec.Usages {
		if u != capi.UsageClientAuth && u != capi.UsageDigitalSignature && u != capi.UsageKeyEncipherment {
			return "", fmt.Errorf("usage %q is not allowed", u)
		}
	}
	return node, nil
}

// authorized asks the authorizer whether the requester may create the given
// subresource of certificatesigningrequests.
func (a *nodeApprover) authorized(ctx context.Context, csr *capi.CertificateSigningRequest, subresource string) (bool, error) {
	extra := make(map[string]authorizationv1.ExtraValue, len(csr.Spec.Extra))
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   csr.Spec.Username,
		UID:    csr.Spec.UID,
		Groups: csr.Spec.Groups,
		Extra:  extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group:       capi.GroupName,
			Resource:    "certificatesigningrequests",
			Subresource: subresource,
			Verb:        "create",
		},
	}}
	got, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to authorize certificate request %s: %w", csr.Name, err)
	}
	return got.Status.Allowed, nil
}

// pinnedNode returns the node a bootstrap token is restricted to ("" when it is
// not restricted or the requester is not a bootstrap token), and whether the
// token is still known.
func (a *nodeApprover) pinnedNode(user string) (node string, known bool, err error) {
	id, ok := strings.CutPrefix(user, bootstrapUserPrefix)
	if !ok {
		return "", true, nil
	}
	secret, err := a.secrets.Secrets(metav1.NamespaceSystem).Get(bootstraputil.BootstrapTokenSecretName(id))
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(secret.Data[security.BootstrapTokenNodeKey]), true, nil
}

// decide sets the Approved or Denied condition.
func (a *nodeApprover) decide(ctx context.Context, csr *capi.CertificateSigningRequest, decision capi.RequestConditionType, reason, message string) error {
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, capi.CertificateSigningRequestCondition{
		Type:           decision,
		Status:         corev1.ConditionTrue,
		Reason:         reason,
		Message:        message,
		LastUpdateTime: metav1.Now(),
	})
	if _, err := a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to record %s for certificate request %s: %w", decision, csr.Name, err)
	}
	klog.FromContext(ctx).Info("Decided a node certificate request", "csr", csr.Name, "decision", decision, "requester", csr.Spec.Username)
	return nil
}
