package customer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/boxalloc"
)

// A subscriber's beauty profile holds the answers to the style quiz that
// box allocation scores products against (see boxalloc.Score). It is read
// and replaced as a whole: the quiz always sends every answer.

// Profile limits.
const (
	MaxProfileValues = 30 // values in one list answer
	maxProfileValue  = 64 // characters in one value
)

// Profile is a customer's beauty profile and when it last changed (zero
// for a customer who never took the quiz).
type Profile struct {
	boxalloc.Profile
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Profile returns the session's customer's profile.
func (s *Service) Profile(ctx context.Context, sess Session) (Profile, error) {
	return s.store.Profile(ctx, sess.CustomerID)
}

// CustomerProfile returns any customer's profile, for staff; ENOTFOUND if
// there is no such customer.
func (s *Service) CustomerProfile(ctx context.Context, customerID string) (Profile, error) {
	if _, err := s.store.Customer(ctx, customerID); err != nil {
		return Profile{}, err
	}
	return s.store.Profile(ctx, customerID)
}

// SetProfile replaces the session's customer's profile. Values are
// trimmed and lower-cased, and repeats and empty values dropped; it
// returns EINVALID (field errors) past the limits.
func (s *Service) SetProfile(ctx context.Context, sess Session, p boxalloc.Profile) (Profile, error) {
	if err := normalizeProfile(&p); err != nil {
		return Profile{}, err
	}
	out := Profile{Profile: p, UpdatedAt: s.clock.Now().UTC()}
	return out, s.store.SaveProfile(ctx, sess.CustomerID, out)
}

// normalizeProfile normalizes p in place and checks its limits.
func normalizeProfile(p *boxalloc.Profile) error {
	var v shopd.Validation
	for _, f := range []struct {
		name  string
		value *string
	}{{"skin_type", &p.SkinType}, {"skin_tone", &p.SkinTone}, {"hair_type", &p.HairType}} {
		*f.value = strings.ToLower(strings.TrimSpace(*f.value))
		v.Text(f.name, *f.value, maxProfileValue, false)
	}
	for _, f := range []struct {
		name string
		list *[]string
	}{
		{"concerns", &p.Concerns}, {"tags", &p.Tags},
		{"preferred_brands", &p.PreferredBrands}, {"preferred_categories", &p.PreferredCategories},
		{"excluded_brands", &p.ExcludedBrands}, {"excluded_categories", &p.ExcludedCategories},
		{"excluded_ingredients", &p.ExcludedIngredients},
	} {
		if !v.Check(len(*f.list) <= MaxProfileValues, f.name, fmt.Sprintf("must have at most %d values", MaxProfileValues)) {
			continue
		}
		var out []string
		for i, s := range *f.list {
			s = strings.ToLower(strings.TrimSpace(s))
			if v.Text(fmt.Sprintf("%s[%d]", f.name, i), s, maxProfileValue, false) && s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		*f.list = out
	}
	return v.Err()
}
