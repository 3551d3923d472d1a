package certauth

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/utils/lru"
)

const (
	// RememberFor is the longest a verified chain is trusted without being
	// verified again.
	RememberFor = time.Minute
	// rememberedChains is how many chains are remembered: a cluster's agents,
	// frameworks and operators, each with a certificate of its own.
	rememberedChains = 16384
)

// Authority is what Remembered needs of a certificate authority: its bundle,
// to notice that it changed, and the options to verify a chain against it.
// The API server's dynamic CA content providers are such authorities.
type Authority interface {
	CurrentCABundleContent() []byte
	VerifyOptions() (x509.VerifyOptions, bool)
}

// Remembered authenticates requests by their client certificate, verifying
// each chain once for a while (see the package documentation).
type Remembered struct {
	authority Authority
	chains    *lru.Cache
	// now and verify are the clock and the signature check; tests replace
	// them.
	now    func() time.Time
	verify func(leaf *x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error)
}

// verifiedChain is what Remembered keeps of a chain it verified.
type verifiedChain struct {
	bundle   []byte
	until    time.Time
	response authenticator.Response
}

// NewRemembered returns an authenticator of client certificates signed by
// authority.
func NewRemembered(authority Authority) *Remembered {
	return &Remembered{
		authority: authority,
		chains:    lru.New(rememberedChains),
		now:       time.Now,
		verify:    (*x509.Certificate).Verify,
	}
}

// InFront returns an authenticator that tries client certificates signed by
// authority, remembered (NewRemembered), then every authenticator of next,
// which holds the server's own: a request it does not authenticate, or whose
// certificate fails, is next's to judge. Its users are in the group
// system:authenticated, as the server's authenticator adds.
func InFront(authority Authority, next authenticator.Request) authenticator.Request {
	return union.New(group.NewAuthenticatedGroupAdder(NewRemembered(authority)), next)
}

// AuthenticateRequest implements authenticator.Request.
func (r *Remembered) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	certs := req.TLS.PeerCertificates
	key := chainKey(certs)
	bundle := r.authority.CurrentCABundleContent()
	now := r.now()
	if kept, ok := r.chains.Get(key); ok {
		chain := kept.(*verifiedChain)
		if now.Before(chain.until) && bytes.Equal(chain.bundle, bundle) {
			response := chain.response
			return &response, true, nil
		}
		r.chains.Remove(key)
	}

	opts, ok := r.authority.VerifyOptions()
	if !ok {
		return nil, false, nil
	}
	if opts.Intermediates == nil && len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, intermediate := range certs[1:] {
			opts.Intermediates.AddCert(intermediate)
		}
	}
	opts.CurrentTime = now
	verified, err := r.verify(certs[0], opts)
	if err != nil {
		return nil, false, fmt.Errorf("verifying the certificate of %q (serial %s) failed: %w", certs[0].Subject.CommonName, certs[0].SerialNumber, err)
	}
	var errs []error
	for _, chain := range verified {
		response, ok, err := x509request.CommonNameUserConversion.User(chain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		r.chains.Add(key, &verifiedChain{bundle: bundle, until: trustedUntil(now, chain), response: *response})
		return response, true, nil
	}
	if len(errs) != 0 {
		return nil, false, errs[0]
	}
	return nil, false, nil
}

// trustedUntil is when a chain verified at now must be verified again: after
// RememberFor, or when the first of its certificates expires.
func trustedUntil(now time.Time, chain []*x509.Certificate) time.Time {
	until := now.Add(RememberFor)
	for _, cert := range chain {
		if cert.NotAfter.Before(until) {
			until = cert.NotAfter
		}
	}
	return until
}

// chainKey identifies the certificates a client presented.
func chainKey(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var size [4]byte
	for _, cert := range certs {
		binary.BigEndian.PutUint32(size[:], uint32(len(cert.Raw)))
		h.Write(size[:])
		h.Write(cert.Raw)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}
