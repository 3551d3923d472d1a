package certificates

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/kubernetes/pkg/controller/bootstrap"
	"k8s.io/kubernetes/pkg/controller/certificates/cleaner"
	"k8s.io/kubernetes/pkg/controller/certificates/signer"
)

// DefaultCertTTL is the longest validity of an issued certificate, as the
// master's own leaf certificates.
const DefaultCertTTL = 365 * 24 * time.Hour

const resync = 12 * time.Hour

// Config is what Run needs.
type Config struct {
	// CAFile and CAKeyFile are the cluster CA's PEM certificate and key.
	CAFile, CAKeyFile string
	// CertTTL caps the validity of issued certificates; zero means DefaultCertTTL.
	CertTTL time.Duration
}

// Run signs and approves certificate requests and cleans up old requests and
// expired bootstrap tokens until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, c Config) error {
	if c.CertTTL == 0 {
		c.CertTTL = DefaultCertTTL
	}
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "meseta-certificates"))
	if err != nil {
		return err
	}
	all := informers.NewSharedInformerFactory(client, resync)
	csrs := all.Certificates().V1().CertificateSigningRequests()
	tokens := informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "type=" + string(bootstrapapi.SecretTypeBootstrapToken)
		}))
	secrets := tokens.Core().V1().Secrets()

	sign, err := signer.NewKubeAPIServerClientCSRSigningController(ctx, client, csrs, c.CAFile, c.CAKeyFile, c.CertTTL)
	if err != nil {
		return fmt.Errorf("failed to create the certificate signer: %w", err)
	}
	approve := newNodeApprover(ctx, client, csrs, secrets.Lister())
	clean := cleaner.NewCSRCleanerController(client.CertificatesV1().CertificateSigningRequests(), csrs)
	tokenCleaner, err := bootstrap.NewTokenCleaner(client, secrets, bootstrap.DefaultTokenCleanerOptions())
	if err != nil {
		return fmt.Errorf("failed to create the bootstrap token cleaner: %w", err)
	}

	all.Start(ctx.Done())
	tokens.Start(ctx.Done())
	defer all.Shutdown()
	defer tokens.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), csrs.Informer().HasSynced, secrets.Informer().HasSynced) {
		return ctx.Err()
	}

	var wg sync.WaitGroup
	wg.Go(func() { sign.Run(ctx, 1) })
	wg.Go(func() { approve.Run(ctx, 1) })
	wg.Go(func() { clean.Run(ctx, 1) })
	wg.Go(func() { tokenCleaner.Run(ctx) })
	<-ctx.Done()
	wg.Wait()
	return nil
}
