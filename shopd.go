// Package shopd holds what every part of shopd shares: money, identifiers,
// error codes and the clock. Domain packages (catalog, market, customer, …)
// build on it; it imports none of them.
package shopd

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"runtime/debug"
	"strings"

	"github.com/google/uuid"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/shopd/shopd.Version=v1.2.3"; otherwise it comes from
// the module build info.
var Version = ""

// BuildVersion returns Version, or the VCS revision recorded by the Go
// toolchain, or "dev".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// crockford is the Crockford base32 alphabet (no I, L, O, U): IDs sort as
// strings in the order they were made and read well aloud.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns a new identifier such as "prd_01JC6Q…": the prefix names the
// kind of object, the rest is a UUIDv7 (time-ordered, random) in Crockford
// base32, so IDs are unique across replicas and sort by creation time.
func NewID(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + crockford.EncodeToString(u[:])
}

// HasIDPrefix reports whether id looks like an ID made by NewID(prefix).
func HasIDPrefix(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	return ok && len(rest) == 26
}

// NewSecret returns a random secret token with the given prefix, such as an
// API key "sk_…" or a session token. It carries 256 bits of randomness.
func NewSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + "_" + crockford.EncodeToString(b[:])
}

// HashSecret returns the hex SHA-256 of a secret token. Tokens carry 256 bits
// of randomness, so a fast hash is enough to store them safely; passwords,
// which are guessable, use argon2id instead (package customer).
func HashSecret(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
