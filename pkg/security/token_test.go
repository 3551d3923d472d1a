package security

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// reviewing returns a fake clientset whose TokenReviews answer answer(n) on
// the n-th review (from 1), and the count of reviews made.
func reviewing(answer func(n int) (bool, error)) (*fake.Clientset, *int) {
	c := fake.NewClientset()
	n := 0
	c.PrependReactor("create", "tokenreviews", func(clienttesting.Action) (bool, runtime.Object, error) {
		n++
		ok, err := answer(n)
		return true, &authenticationv1.TokenReview{Status: authenticationv1.TokenReviewStatus{Authenticated: ok}}, err
	})
	return c, &n
}

func TestCreateBootstrapTokenWaitsUntilTheServerAcceptsIt(t *testing.T) {
	g := NewWithT(t)
	c, reviews := reviewing(func(n int) (bool, error) { return n >= 3, nil })
	token, err := CreateBootstrapToken(context.Background(), c, BootstrapTokenOptions{TTL: time.Hour})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(token).To(MatchRegexp(`^[a-z0-9]{6}\.[a-z0-9]{16}$`))
	g.Expect(*reviews).To(Equal(3), "the token was refused twice (the server's cache had not seen the Secret), then accepted")
}

func TestWaitUntilAcceptedSkipsWhenReviewsAreForbidden(t *testing.T) {
	g := NewWithT(t)
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}, "", nil)
	c, reviews := reviewing(func(int) (bool, error) { return false, forbidden })
	g.Expect(waitUntilAccepted(context.Background(), c, "abcdef.0123456789abcdef", time.Second)).To(Succeed())
	g.Expect(*reviews).To(Equal(1))
}

func TestWaitUntilAcceptedFailsWhenNeverAccepted(t *testing.T) {
	g := NewWithT(t)
	c, _ := reviewing(func(int) (bool, error) { return false, nil })
	err := waitUntilAccepted(context.Background(), c, "abcdef.0123456789abcdef", 200*time.Millisecond)
	g.Expect(err).To(MatchError(ContainSubstring("did not accept it within 200ms (is bootstrap token authentication on?)")))
}

func TestCreateBootstrapTokenDoesNotWaitForAShortLivedToken(t *testing.T) {
	g := NewWithT(t)
	c, reviews := reviewing(func(int) (bool, error) { return false, nil })
	_, err := CreateBootstrapToken(context.Background(), c, BootstrapTokenOptions{TTL: time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(*reviews).To(BeZero(), "a token of a second may expire before the server sees it")
}
