package uplink

import (
	"crypto/rand"
	"encoding/hex"
)

// NewBootID returns a random id for one start of the booth's daemon: 128
// bits, 32 hex digits. It is made per process start, not read from the
// kernel's boot_id: two daemons on one machine (a copied bundle run beside
// the real one in a container, say) share the kernel's, and the gateway
// must tell them apart (docs/pki.md, "A copied identity").
func NewBootID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}
