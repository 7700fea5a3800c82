package customer

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
	"golang.org/x/crypto/argon2"
)

// Password length limits. The lower bound follows NIST SP 800-63B; the upper
// bound keeps a hash request cheap to read and refuses absurd inputs.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// PasswordParams are the argon2id cost parameters of a password hash. They
// are stored in every hash (PHC string format), so raising DefaultParams
// later makes new hashes stronger while old ones still verify, and a login
// rehashes a password whose stored parameters are weaker.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's recommended minimum for argon2id (Password
// Storage Cheat Sheet: m=19 MiB, t=2, p=1). One hash takes a few tens of
// milliseconds and 19 MiB of memory on one core, so with at most GOMAXPROCS
// hashes at once (hashSlots) a login storm costs at most GOMAXPROCS×19 MiB
// and the CPU, never the process; memory-hardness keeps GPU cracking of a
// stolen database slow. p=1 because the server gets its parallelism from
// concurrent requests, not from one hash.
var DefaultParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash, so a corrupt or hostile row
// cannot make one verification take gigabytes or minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// hashSlots bounds how many argon2id hashes run at once in the process: each
// holds Memory KiB while it runs. It is shared by every Service and by
// HashPassword because the memory it protects is the process's.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// errHashBusy is returned when ctx ends while waiting for a hash slot.
var errHashBusy = shopd.TypedErrorf(shopd.EUNAVAILABLE, "password-hashing-busy", "Too many logins are in progress; retry shortly.")

// withHashSlot runs fn while holding one of hashSlots, waiting for a slot
// no longer than ctx allows.
func withHashSlot(ctx context.Context, fn func()) error {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return errHashBusy
	}
	defer func() { <-hashSlots }()
	if ctx.Err() != nil {
		return errHashBusy
	}
	fn()
	return nil
}

// HashPassword returns the argon2id hash of password with DefaultParams and
// a fresh random salt, in PHC string format
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>"). It waits for a hashing
// slot; it returns EUNAVAILABLE if ctx ends first, and EINVALID if the
// password's length is outside MinPasswordLength..MaxPasswordLength.
func HashPassword(ctx context.Context, password string) (string, error) {
	if err := checkPassword("password", password); err != nil {
		return "", err
	}
	return hashPassword(ctx, password, DefaultParams)
}

// Hash returns the argon2id hash of password with the parameters p and a
// fresh random salt, in PHC string format. It returns EINVALID if p is out
// of the bounds a stored hash may have or the password's length is wrong,
// and EUNAVAILABLE if ctx ends while waiting for a hashing slot.
func (p PasswordParams) Hash(ctx context.Context, password string) (string, error) {
	if err := checkPassword("password", password); err != nil {
		return "", err
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 ||
		p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen || p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return "", shopd.Errorf(shopd.EINVALID, "argon2id parameters out of bounds: %+v", p)
	}
	return hashPassword(ctx, password, p)
}

func hashPassword(ctx context.Context, password string, p PasswordParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	err := withHashSlot(ctx, func() { key = argon2idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen) })
	if err != nil {
		return "", err
	}
	return encodeHash(p, salt, key), nil
}

// argon2Version is the argon2 version written in and required of PHC strings.
const argon2Version = argon2.Version

// argon2idKey derives an argon2id key.
func argon2idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// b64 is the PHC string encoding: standard base64 without padding.
var b64 = base64.RawStdEncoding

func encodeHash(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string strictly: the version must be 19,
// the parameters in the order m, t, p and within bounds.
func decodeHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	bad := func(why string) (PasswordParams, []byte, []byte, error) {
		return PasswordParams{}, nil, nil, fmt.Errorf("customer: bad password hash: %s", why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2Version) {
		return bad("unsupported version")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("parameters must be m, t, p")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return bad("parameters must be m, t, p")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + name + " is not a number")
		}
		vals[i] = n
	}
	p = PasswordParams{Memory: uint32(vals[0]), Time: uint32(vals[1])}
	switch {
	case vals[2] < 1 || vals[2] > 255:
		return bad("p out of range")
	case p.Time < 1 || p.Time > maxTime:
		return bad("t out of range")
	case uint64(p.Memory) < 8*vals[2] || p.Memory > maxMemoryKiB:
		return bad("m out of range")
	}
	p.Threads = uint8(vals[2])
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return bad("salt")
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("key")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// verifyPassword reports whether password matches the encoded hash, in time
// that does not depend on where they differ. A malformed hash is an error
// (a bug or a corrupt row), never a match.
func verifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	var got []byte
	if err := withHashSlot(ctx, func() { got = argon2idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// needsRehash reports whether a stored hash costs an attacker less than
// DefaultParams (memory or passes), so a login should upgrade it. A hash
// that is stronger in one dimension is left alone rather than downgraded.
func needsRehash(encoded string) bool {
	p, _, _, err := decodeHash(encoded)
	if err != nil {
		return false
	}
	d := DefaultParams
	return (p.Memory < d.Memory && p.Time <= d.Time) || (p.Time < d.Time && p.Memory <= d.Memory)
}

// dummyHash is verified against when a login names an unknown email, so
// that it costs the same time as a wrong password and reveals nothing.
var dummyHash = encodeHash(DefaultParams, make([]byte, DefaultParams.SaltLen), make([]byte, DefaultParams.KeyLen))

// checkPassword validates a new password's length (in characters).
func checkPassword(field, pw string) error {
	var v shopd.Validation
	n := len([]rune(pw))
	v.Check(n >= MinPasswordLength && len(pw) <= 4*MaxPasswordLength && n <= MaxPasswordLength, field,
		fmt.Sprintf("must be %d to %d characters", MinPasswordLength, MaxPasswordLength))
	return v.Err()
}
