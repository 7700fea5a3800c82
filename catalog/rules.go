package catalog

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopd/shopd"
)

// MakeHandle returns a URL handle made from a title: lower case, accents
// folded ("Crème Rosé" → "creme-rose"), every other run of characters
// outside [a-z0-9] a single hyphen, at most MaxHandleLen long. It returns
// "product" for a title with nothing usable in it.
func MakeHandle(title string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		s, ok := fold[r]
		switch {
		case ok:
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			s = string(r)
		default:
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		b.WriteString(s)
		if b.Len() >= MaxHandleLen {
			break
		}
	}
	h := strings.Trim(truncate(b.String(), MaxHandleLen), "-")
	if h == "" {
		return "product"
	}
	return h
}

// fold maps common accented Latin letters to ASCII, so that handles stay
// readable for European and Latin American titles.
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'æ': "ae", 'ç': "c", 'ć': "c", 'č': "c", 'ď': "d", 'đ': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ğ': "g", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'į': "i", 'ı': "i",
	'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o", 'œ': "oe",
	'ř': "r", 'ś': "s", 'š': "s", 'ş': "s", 'ß': "ss", 'ť': "t", 'ţ': "t",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'ý': "y", 'ÿ': "y", 'ź': "z", 'ż': "z", 'ž': "z", 'þ': "th", 'ð': "d",
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// suffixHandle returns base with "-n", shortened so the result fits.
func suffixHandle(base string, n int) string {
	suffix := "-" + strconv.Itoa(n)
	return strings.TrimRight(truncate(base, MaxHandleLen-len(suffix)), "-") + suffix
}

// validHandle reports whether h is a handle: 1–100 of [a-z0-9-], not
// starting or ending with a hyphen.
func validHandle(h string) bool {
	if h == "" || len(h) > MaxHandleLen || h[0] == '-' || h[len(h)-1] == '-' {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validID reports whether id is an ID made by shopd.NewID(prefix).
func validID(id, prefix string) bool {
	if !shopd.HasIDPrefix(id, prefix) {
		return false
	}
	for _, c := range id[len(prefix)+1:] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// validMarketCode reports whether code can be a market code at all, so that
// junk never reaches a query.
func validMarketCode(code string) bool {
	if len(code) < 2 || len(code) > 8 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validName reports whether s is an attribute or option name: 1–max of
// [a-z0-9_].
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkLongText checks multi-line text: as shopd.Validation.Text, but newlines and tabs
// are allowed.
func checkLongText(v *shopd.Validation, field, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		v.Addf(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		v.Addf(field, "must be at most %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		v.Addf(field, "must not contain control characters other than newlines and tabs")
	}
}

func checkHandle(v *shopd.Validation, field, h string) {
	v.Check(validHandle(h), field, "must be 1 to 100 lowercase letters, digits and hyphens, not starting or ending with a hyphen")
}

func checkSKU(v *shopd.Validation, field, sku string) {
	ok := sku != "" && len(sku) <= MaxSKULen
	for i := 0; ok && i < len(sku); i++ {
		ok = sku[i] > ' ' && sku[i] <= '~'
	}
	v.Check(ok, field, "must be 1 to 64 printable ASCII characters without spaces")
}

func checkTaxCategory(v *shopd.Validation, field, c string) {
	ok := c != "" && len(c) <= MaxTaxCategoryLen
	for i := 0; ok && i < len(c); i++ {
		ch := c[i]
		ok = ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-'
	}
	v.Check(ok, field, "must be 1 to 40 of a-z, 0-9, _ and -")
}

func checkStatus(v *shopd.Validation, field string, s Status) {
	v.Check(s.Valid(), field, "must be draft, active or archived")
}

func checkPurchaseLimit(v *shopd.Validation, field string, n int) {
	v.Check(n >= 0 && n <= MaxPurchaseLimit, field, "must be from 0 (no limit) to 10000")
}

// checkAttributes checks names, value counts and values. Values may not
// hold commas: storefront filters separate values with commas.
func checkAttributes(v *shopd.Validation, field string, attrs map[string][]string) {
	if len(attrs) > MaxAttributes {
		v.Addf(field, "must have at most %d attributes", MaxAttributes)
		return
	}
	for _, name := range sortedKeys(attrs) {
		path := field + "." + name
		if !validName(name, MaxAttributeNameLen) {
			v.Addf(path, "attribute names must be 1 to %d of a-z, 0-9 and _", MaxAttributeNameLen)
			continue
		}
		values := attrs[name]
		if len(values) == 0 || len(values) > MaxAttributeValues {
			v.Addf(path, "must have 1 to %d values", MaxAttributeValues)
			continue
		}
		for i, val := range values {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !v.Text(p, val, MaxAttributeValueLen, true) {
				continue
			}
			switch {
			case strings.TrimSpace(val) != val:
				v.Addf(p, "must not start or end with spaces")
			case strings.Contains(val, ","):
				v.Addf(p, "must not contain a comma")
			case slices.Contains(values[:i], val):
				v.Addf(p, "is listed twice")
			}
		}
	}
}

func checkMedia(v *shopd.Validation, field string, media []Media) {
	if len(media) > MaxMedia {
		v.Addf(field, "must have at most %d items", MaxMedia)
		return
	}
	for i, m := range media {
		p := fmt.Sprintf("%s[%d]", field, i)
		if v.Text(p+".url", m.URL, MaxURLLen, true) {
			u, err := url.Parse(m.URL)
			v.Check(err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && !strings.ContainsAny(m.URL, " \\"),
				p+".url", "must be an https URL")
		}
		v.Text(p+".alt", m.Alt, MaxAltLen, false)
	}
}

func checkOptions(v *shopd.Validation, field string, opts map[string]string) {
	if len(opts) > MaxOptions {
		v.Addf(field, "must have at most %d options", MaxOptions)
		return
	}
	for _, name := range sortedKeys(opts) {
		path := field + "." + name
		if !validName(name, MaxOptionNameLen) {
			v.Addf(path, "option names must be 1 to %d of a-z, 0-9 and _", MaxOptionNameLen)
			continue
		}
		if v.Text(path, opts[name], MaxOptionValueLen, true) && strings.TrimSpace(opts[name]) != opts[name] {
			v.Addf(path, "must not start or end with spaces")
		}
	}
}

// checkPrice checks the amounts of a price; markets and their currencies are
// checked by the Service, which knows the markets. prefix is "" or a path
// ending in a dot.
func checkPrice(v *shopd.Validation, prefix string, p Price) {
	checkMoney(v, prefix+"amount", p.Amount)
	if p.CompareAt == nil {
		return
	}
	if checkMoney(v, prefix+"compare_at", *p.CompareAt) {
		switch {
		case p.CompareAt.Currency != p.Amount.Currency:
			v.Addf(prefix+"compare_at.currency", "must be the currency of amount")
		case p.CompareAt.Amount <= p.Amount.Amount:
			v.Addf(prefix+"compare_at.amount", "must be greater than the price")
		}
	}
}

func checkMoney(v *shopd.Validation, field string, m shopd.Money) bool {
	ok := v.Check(m.Amount >= 0 && m.Amount <= MaxAmount, field+".amount", "must be from 0 to 1000000000000 minor units")
	return v.Check(shopd.ValidCurrency(m.Currency), field+".currency", "must be a known ISO 4217 currency code") && ok
}

// checkPaging fills in the default page size and checks limit and cursor.
func checkPaging(v *shopd.Validation, f *ListFilter) {
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	v.Check(f.Limit >= 1 && f.Limit <= MaxPageSize, "limit", "must be from 1 to 100")
	v.Check(f.Cursor == "" || validID(f.Cursor, "prd"), "cursor", "is not a cursor of this list")
}

// checkFilters checks storefront attribute filters.
func checkFilters(v *shopd.Validation, attrs map[string][]string) {
	if len(attrs) > MaxFilterNames {
		v.Addf("attr", "at most %d attribute filters", MaxFilterNames)
		return
	}
	for _, name := range sortedKeys(attrs) {
		path := "attr." + name
		if !validName(name, MaxAttributeNameLen) {
			v.Addf(path, "attribute names are 1 to %d of a-z, 0-9 and _", MaxAttributeNameLen)
			continue
		}
		values := attrs[name]
		if len(values) == 0 || len(values) > MaxAttributeValues {
			v.Addf(path, "must have 1 to %d comma-separated values", MaxAttributeValues)
			continue
		}
		for _, val := range values {
			if !v.Text(path, val, MaxAttributeValueLen, true) {
				break
			}
		}
	}
}

// now returns the clock's time as stored: UTC, whole microseconds.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// buildProduct validates np and makes the product it describes, with new IDs.
func buildProduct(np NewProduct, now time.Time) (Product, error) {
	var v shopd.Validation
	p := Product{
		ID:            shopd.NewID("prd"),
		Handle:        np.Handle,
		Title:         np.Title,
		Description:   np.Description,
		Status:        np.Status,
		PurchaseLimit: np.PurchaseLimit,
		TaxCategory:   np.TaxCategory,
		Attributes:    np.Attributes,
		Media:         np.Media,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if p.Status == "" {
		p.Status = StatusDraft
	}
	if p.TaxCategory == "" {
		p.TaxCategory = DefaultTaxCategory
	}
	if p.Attributes == nil {
		p.Attributes = map[string][]string{}
	}
	if p.Media == nil {
		p.Media = []Media{}
	}
	if np.LaunchAt != nil {
		p.LaunchAt = storedTime(*np.LaunchAt)
	}
	titleOK := v.Text("title", p.Title, MaxTitleLen, true)
	if p.Handle == "" && titleOK {
		p.Handle = MakeHandle(p.Title)
	} else if p.Handle != "" {
		checkHandle(&v, "handle", p.Handle)
	}
	checkLongText(&v, "description", p.Description, MaxDescriptionLen)
	checkStatus(&v, "status", p.Status)
	checkPurchaseLimit(&v, "purchase_limit", p.PurchaseLimit)
	checkTaxCategory(&v, "tax_category", p.TaxCategory)
	checkAttributes(&v, "attributes", p.Attributes)
	checkMedia(&v, "media", p.Media)
	if n := len(np.Variants); n == 0 || n > MaxVariants {
		v.Addf("variants", "must have 1 to %d variants", MaxVariants)
	} else {
		p.Variants = make([]Variant, n)
		for i, nv := range np.Variants {
			path := fmt.Sprintf("variants[%d]", i)
			p.Variants[i] = buildVariant(&v, nv, path+".", now)
			p.Variants[i].ProductID = p.ID
			if nv.Position == nil {
				p.Variants[i].Position = i + 1
			}
			for j := range i {
				if p.Variants[j].SKU == nv.SKU {
					v.Addf(path+".sku", "is the same as the SKU of variants[%d]", j)
				}
				if sameOptions(p.Variants[j].Options, p.Variants[i].Options) {
					v.Addf(path+".options", "are the same as the options of variants[%d]", j)
				}
			}
		}
	}
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	return p, nil
}

// buildVariant checks nv and makes the variant it describes, with a new ID,
// recording problems under prefix ("" or "variants[i].").
func buildVariant(v *shopd.Validation, nv NewVariant, prefix string, now time.Time) Variant {
	out := Variant{
		ID:        shopd.NewID("var"),
		SKU:       nv.SKU,
		Title:     nv.Title,
		Options:   nv.Options,
		Prices:    nv.Prices,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if out.Prices == nil {
		out.Prices = map[string]Price{}
	}
	checkSKU(v, prefix+"sku", out.SKU)
	v.Text(prefix+"title", out.Title, MaxTitleLen, false)
	checkOptions(v, prefix+"options", out.Options)
	if out.Title == "" {
		out.Title = variantTitle(out.Options)
	}
	if nv.Position != nil {
		out.Position = *nv.Position
		v.Check(out.Position >= 0 && out.Position <= MaxPosition, prefix+"position", "must be from 0 to 1000000")
	}
	for _, code := range sortedKeys(out.Prices) {
		checkPrice(v, prefix+"prices."+code+".", out.Prices[code])
	}
	return out
}

// checkUpdate checks the fields that u sets.
func checkUpdate(v *shopd.Validation, u ProductUpdate) {
	if u.Handle != nil {
		checkHandle(v, "handle", *u.Handle)
	}
	if u.Title != nil {
		v.Text("title", *u.Title, MaxTitleLen, true)
	}
	if u.Description != nil {
		checkLongText(v, "description", *u.Description, MaxDescriptionLen)
	}
	if u.Status != nil {
		checkStatus(v, "status", *u.Status)
	}
	if u.PurchaseLimit != nil {
		checkPurchaseLimit(v, "purchase_limit", *u.PurchaseLimit)
	}
	if u.TaxCategory != nil {
		checkTaxCategory(v, "tax_category", *u.TaxCategory)
	}
	if u.Attributes != nil {
		checkAttributes(v, "attributes", u.Attributes)
	}
	if u.Media != nil {
		checkMedia(v, "media", *u.Media)
	}
}

// applyUpdate sets the fields of p that u names.
func applyUpdate(p *Product, u ProductUpdate) {
	if u.Handle != nil {
		p.Handle = *u.Handle
	}
	if u.Title != nil {
		p.Title = *u.Title
	}
	if u.Description != nil {
		p.Description = *u.Description
	}
	if u.Status != nil {
		p.Status = *u.Status
	}
	if u.LaunchAt != nil {
		p.LaunchAt = storedTime(*u.LaunchAt)
	}
	if u.PurchaseLimit != nil {
		p.PurchaseLimit = *u.PurchaseLimit
	}
	if u.TaxCategory != nil {
		p.TaxCategory = *u.TaxCategory
	}
	if u.Attributes != nil {
		p.Attributes = u.Attributes
	}
	if u.Media != nil {
		p.Media = *u.Media
		if p.Media == nil {
			p.Media = []Media{}
		}
	}
}

// storedTime is t as the store keeps it: UTC, whole microseconds; the zero
// time stays zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// variantTitle names a variant by its option values: "Rose / 30 ml".
func variantTitle(opts map[string]string) string {
	if len(opts) == 0 {
		return "Default"
	}
	vals := make([]string, 0, len(opts))
	for _, k := range sortedKeys(opts) {
		vals = append(vals, opts[k])
	}
	t := []rune(strings.Join(vals, " / "))
	return string(t[:min(len(t), MaxTitleLen)])
}

func sameOptions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pricesPath is the field path of variant i's prices: where is a format
// with one %d, or a fixed path.
func pricesPath(where string, i int) string {
	if strings.Contains(where, "%d") {
		return fmt.Sprintf(where, i)
	}
	return where
}
