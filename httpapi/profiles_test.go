package httpapi_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// TestProfile: a customer saves and reads their beauty profile (values
// normalized, limits enforced), sees only their own, and support staff
// read anyone's.
func TestProfile(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		a, b := e.signUp(t, "a@example.com", "password a"), e.signUp(t, "b@example.com", "password b")
		asA, asB := as(a.Session.Token), as(b.Session.Token)

		var empty customer.Profile
		e.do("GET", "/v1/me/profile", nil, asA).want(t, 200).JSON(t, &empty)
		if !reflect.DeepEqual(empty, customer.Profile{}) {
			t.Fatalf("profile before the quiz = %+v, want empty", empty)
		}

		quiz := map[string]any{
			"skin_type": " Combination ", "skin_tone": "medium", "concerns": []string{"Acne", "dryness", "acne", " "},
			"excluded_ingredients": []string{"Fragrance"}, "preferred_brands": []string{"Glow Co"},
		}
		var saved customer.Profile
		e.do("PUT", "/v1/me/profile", quiz, asA).want(t, 200).JSON(t, &saved)
		if saved.SkinType != "combination" || !reflect.DeepEqual(saved.Concerns, []string{"acne", "dryness"}) ||
			!reflect.DeepEqual(saved.ExcludedIngredients, []string{"fragrance"}) || saved.PreferredBrands[0] != "glow co" || !saved.UpdatedAt.Equal(testStart) {
			t.Fatalf("saved profile %+v", saved)
		}
		var got customer.Profile
		e.do("GET", "/v1/me/profile", nil, asA).want(t, 200).JSON(t, &got)
		if !reflect.DeepEqual(got, saved) {
			t.Fatalf("read back %+v, saved %+v", got, saved)
		}

		// The quiz sends every answer: a PUT replaces the whole profile.
		got = customer.Profile{}
		e.do("PUT", "/v1/me/profile", map[string]any{"hair_type": "curly"}, asA).want(t, 200).JSON(t, &got)
		if got.HairType != "curly" || got.SkinType != "" || len(got.Concerns) != 0 {
			t.Fatalf("replaced profile %+v", got)
		}

		// B never sees A's profile; support staff do.
		var bView customer.Profile
		e.do("GET", "/v1/me/profile", nil, asB).want(t, 200).JSON(t, &bView)
		if !reflect.DeepEqual(bView, customer.Profile{}) {
			t.Fatalf("B sees %+v", bView)
		}
		var staffView customer.Profile
		e.do("GET", "/v1/admin/customers/"+a.Customer.ID+"/profile", nil, as(e.keys[staff.RoleSupport])).want(t, 200).JSON(t, &staffView)
		if !reflect.DeepEqual(staffView, got) {
			t.Fatalf("staff see %+v, want %+v", staffView, got)
		}
		e.do("GET", "/v1/admin/customers/cus_"+strings.Repeat("0", 26)+"/profile", nil, as(e.keys[staff.RoleSupport])).wantProblem(t, 404, "customer-not-found")
		e.do("GET", "/v1/me/profile", nil).want(t, 401)

		// Limits: every bad field is named.
		tooMany := make([]string, customer.MaxProfileValues+1)
		for i := range tooMany {
			tooMany[i] = fmt.Sprint("tag", i)
		}
		r := e.do("PUT", "/v1/me/profile", map[string]any{"skin_type": strings.Repeat("x", 65), "tags": tooMany,
			"concerns": []string{"ok", "bad\x00"}}, asA).wantProblem(t, 400, "validation")
		for _, field := range []string{"skin_type", "tags", "concerns[1]"} {
			if !strings.Contains(string(r.Body), `"`+field+`"`) {
				t.Errorf("no error for %s in %s", field, r.Body)
			}
		}
		e.do("PUT", "/v1/me/profile", map[string]any{"shoe_size": 9}, asA).wantProblem(t, 400, "validation")
		var after customer.Profile
		e.do("GET", "/v1/me/profile", nil, asA).want(t, 200).JSON(t, &after)
		if !reflect.DeepEqual(after, got) {
			t.Fatalf("a rejected PUT changed the profile: %+v", got)
		}
	})
}
