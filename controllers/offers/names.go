package offers

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
)

// SeqAnnotation holds an offer's sequence number on its node. The master
// numbers the offers of each node 1, 2, 3, ... and puts the number in the
// offer's name; after a restart it continues above the highest number in use.
const SeqAnnotation = "meseta.dev/offer-seq"

// maxNameLength is the longest object name.
const maxNameLength = 253

// offerName returns the name of the seq-th offer on node to framework fw:
// "<framework>-<node>-<seq in base 36>". The name is a function of its inputs,
// so that writing one offer twice meets AlreadyExists instead of making two.
// When the name would be too long, the framework and node parts are cut and a
// hash of both keeps it unique.
func offerName(fw, node string, seq uint64) string {
	suffix := "-" + strconv.FormatUint(seq, 36)
	name := fw + "-" + node + suffix
	if len(name) <= maxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(fw + "/" + node))
	hash := hex.EncodeToString(sum[:])[:10]
	room := maxNameLength - len(suffix) - len(hash) - 2
	fwPart, nodePart := fw, node
	if len(fwPart) > room/2 {
		fwPart = fwPart[:room/2]
	}
	if len(nodePart) > room-len(fwPart) {
		nodePart = nodePart[:room-len(fwPart)]
	}
	return trimName(fwPart) + "-" + trimName(nodePart) + "-" + hash + suffix
}

// trimName cuts dots and dashes off the end of a cut part, which a name's
// segments may not end with.
func trimName(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '-' || s[len(s)-1] == '.') {
		s = s[:len(s)-1]
	}
	return s
}

// seqOf returns an offer's sequence number: from its annotation, or else
// from its name when the name is one offerName makes; 0 when neither says.
func seqOf(o *v1alpha1.Offer) uint64 {
	if n, err := strconv.ParseUint(o.Annotations[SeqAnnotation], 10, 64); err == nil {
		return n
	}
	i := strings.LastIndexByte(o.Name, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseUint(o.Name[i+1:], 36, 64)
	if err != nil || offerName(o.Spec.Framework, o.Spec.NodeName, n) != o.Name {
		return 0
	}
	return n
}
