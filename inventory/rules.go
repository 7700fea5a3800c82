package inventory

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
)

// Limits on inventory input.
const (
	MaxCodeLen         = 32
	MaxNameLen         = 200
	MaxRegionLen       = 50
	MaxMarkets         = 50
	MaxPriority        = 1_000_000
	MaxSKULen          = 64 // as in the catalog
	MaxQuantity        = 1_000_000
	MaxOnHand          = 1_000_000_000 // an absolute count from a sync
	MaxThreshold       = MaxOnHand
	MaxReferenceLen    = 100
	MaxNoteLen         = 500
	MaxReasonLen       = 200
	MaxReserveLines    = 1000
	MaxSyncRows        = 100_000
	MaxSequence        = 1<<53 - 1 // exact in JSON numbers everywhere
	MaxPageSize        = 100
	DefaultPageSize    = 20
	MaxUnknownSKUsShow = 20 // unknown SKUs named in an error message
)

var (
	codeRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	marketCodeRE = regexp.MustCompile(`^[a-z]{2,8}$`)
)

// ValidCode reports whether s is a well-formed warehouse code.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

// validRef reports whether s can name a warehouse: a code or an ID.
func validRef(s string) bool { return ValidCode(s) || shopd.HasIDPrefix(s, WarehousePrefix) }

// validReference reports whether s is a well-formed reservation reference:
// 1 to 100 printable ASCII characters without spaces.
func validReference(s string) bool { return printableASCII(s, MaxReferenceLen) }

func printableASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ValidSKU reports whether s is a well-formed SKU (as the catalog accepts).
func ValidSKU(s string) bool { return printableASCII(s, MaxSKULen) }

func checkSKU(v *shopd.Validation, field, sku string) {
	v.Check(ValidSKU(sku), field, "must be 1 to 64 printable ASCII characters without spaces")
}

func checkWarehouseRef(v *shopd.Validation, field, s string) {
	v.Check(validRef(s), field, "must be a warehouse code or ID")
}

func checkQuantity(v *shopd.Validation, field string, q int64) {
	v.Check(q >= 1 && q <= MaxQuantity, field, "must be from 1 to 1000000")
}

func checkThreshold(v *shopd.Validation, field string, t *int64) {
	if t != nil {
		v.Check(*t >= 0 && *t <= MaxThreshold, field, "must be from 0 to 1000000000")
	}
}

func checkLimit(v *shopd.Validation, limit int) {
	v.Check(limit >= 1 && limit <= MaxPageSize, "limit", "must be from 1 to 100")
}

// NewWarehouse is the input that creates a warehouse.
type NewWarehouse struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Markets  []string `json:"markets"`
	Priority int      `json:"priority"`
	Region   string   `json:"region"`
	Active   *bool    `json:"active"` // true if nil
}

func (nw NewWarehouse) build() (Warehouse, error) {
	var v shopd.Validation
	v.Check(ValidCode(nw.Code), "code", "must be 1 to 32 of a-z, 0-9 and -, not starting with -")
	nw.Name = strings.TrimSpace(nw.Name)
	checkName(&v, "name", nw.Name)
	if nw.Markets == nil {
		nw.Markets = []string{}
	}
	checkMarketCodes(&v, "markets", nw.Markets)
	checkPriority(&v, "priority", nw.Priority)
	v.Text("region", nw.Region, MaxRegionLen, false)
	if err := v.Err(); err != nil {
		return Warehouse{}, err
	}
	active := nw.Active == nil || *nw.Active
	markets := slices.Clone(nw.Markets)
	slices.Sort(markets)
	return Warehouse{Code: nw.Code, Name: nw.Name, Markets: markets, Priority: nw.Priority, Region: nw.Region, Active: active}, nil
}

// WarehouseUpdate is a partial change to a warehouse; nil fields stay as
// they are. The code is fixed: warehouse systems and imports name the
// warehouse by it.
type WarehouseUpdate struct {
	Name     *string
	Markets  *[]string
	Priority *int
	Region   *string
	Active   *bool
}

func (u *WarehouseUpdate) check() error {
	var v shopd.Validation
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		checkName(&v, "name", *u.Name)
	}
	if u.Markets != nil {
		if *u.Markets == nil {
			*u.Markets = []string{}
		}
		checkMarketCodes(&v, "markets", *u.Markets)
	}
	if u.Priority != nil {
		checkPriority(&v, "priority", *u.Priority)
	}
	if u.Region != nil {
		v.Text("region", *u.Region, MaxRegionLen, false)
	}
	return v.Err()
}

func (u *WarehouseUpdate) apply(w *Warehouse) {
	if u.Name != nil {
		w.Name = *u.Name
	}
	if u.Markets != nil {
		w.Markets = slices.Clone(*u.Markets)
		slices.Sort(w.Markets)
	}
	if u.Priority != nil {
		w.Priority = *u.Priority
	}
	if u.Region != nil {
		w.Region = *u.Region
	}
	if u.Active != nil {
		w.Active = *u.Active
	}
}

func checkName(v *shopd.Validation, field, name string) {
	if v.Check(name != "", field, "is required") {
		v.Text(field, name, MaxNameLen, false)
	}
}

func checkPriority(v *shopd.Validation, field string, p int) {
	v.Check(p >= 0 && p <= MaxPriority, field, "must be from 0 (first) to 1000000")
}

func checkMarketCodes(v *shopd.Validation, field string, codes []string) {
	if !v.Check(len(codes) <= MaxMarkets, field, "must list at most 50 markets") {
		return
	}
	seen := map[string]bool{}
	for i, c := range codes {
		f := field + "[" + strconv.Itoa(i) + "]"
		if v.Check(marketCodeRE.MatchString(c), f, "must be a market code such as \"us\"") {
			v.Check(!seen[c], f, "is listed twice")
			seen[c] = true
		}
	}
}

func (r Receipt) check() error {
	var v shopd.Validation
	checkWarehouseRef(&v, "warehouse", r.Warehouse)
	checkSKU(&v, "sku", r.SKU)
	checkQuantity(&v, "quantity", r.Quantity)
	v.Text("reference", r.Reference, MaxReferenceLen, false)
	v.Text("note", r.Note, MaxNoteLen, false)
	checkThreshold(&v, "low_stock_threshold", r.LowStockThreshold)
	return v.Err()
}

func (a Adjustment) check() error {
	var v shopd.Validation
	checkWarehouseRef(&v, "warehouse", a.Warehouse)
	checkSKU(&v, "sku", a.SKU)
	v.Check(a.Delta != 0 && a.Delta >= -MaxQuantity && a.Delta <= MaxQuantity, "delta", "must be from -1000000 to 1000000, not 0")
	if v.Check(strings.TrimSpace(a.Reason) != "", "reason", "is required") {
		v.Text("reason", a.Reason, MaxReasonLen, false)
	}
	checkThreshold(&v, "low_stock_threshold", a.LowStockThreshold)
	return v.Err()
}

func (t Transfer) check() error {
	var v shopd.Validation
	checkWarehouseRef(&v, "from", t.From)
	if checkWarehouseRef(&v, "to", t.To); t.To != "" && t.To == t.From {
		v.Addf("to", "must differ from from")
	}
	checkSKU(&v, "sku", t.SKU)
	checkQuantity(&v, "quantity", t.Quantity)
	v.Text("reference", t.Reference, MaxReferenceLen, false)
	v.Text("note", t.Note, MaxNoteLen, false)
	return v.Err()
}

func (r Return) check() error {
	var v shopd.Validation
	checkWarehouseRef(&v, "warehouse", r.Warehouse)
	checkSKU(&v, "sku", r.SKU)
	checkQuantity(&v, "quantity", r.Quantity)
	v.Text("reference", r.Reference, MaxReferenceLen, false)
	v.Text("note", r.Note, MaxNoteLen, false)
	return v.Err()
}

// check validates a snapshot and returns its digest: a hash of its rows in
// SKU order, so the same counts listed in another order are the same
// snapshot.
func (s Sync) check() (string, error) {
	var v shopd.Validation
	v.Check(s.Sequence >= 1 && s.Sequence <= MaxSequence, "sequence", "must be from 1 to 9007199254740991")
	if !v.Check(len(s.Counts) >= 1 && len(s.Counts) <= MaxSyncRows, "counts", "must list 1 to 100000 rows") {
		return "", v.Err()
	}
	seen := make(map[string]int, len(s.Counts))
	for i, c := range s.Counts {
		f := "counts[" + strconv.Itoa(i) + "]"
		if ValidSKU(c.SKU) {
			if j, dup := seen[c.SKU]; dup {
				v.Addf(f+".sku", "is listed twice (also at counts[%d])", j)
			}
			seen[c.SKU] = i
		} else {
			checkSKU(&v, f+".sku", c.SKU)
		}
		v.Check(c.OnHand >= 0 && c.OnHand <= MaxOnHand, f+".on_hand", "must be from 0 to 1000000000")
		checkThreshold(&v, f+".low_stock_threshold", c.LowStockThreshold)
		if e, ok := v.Err().(*shopd.Error); ok && len(e.Fields) >= 100 {
			break // enough to fix a file; a million errors help nobody
		}
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	return snapshotDigest(s.Counts), nil
}

// snapshotDigest hashes counts in SKU order.
func snapshotDigest(counts []Count) string {
	sorted := slices.Clone(counts)
	slices.SortFunc(sorted, func(a, b Count) int { return strings.Compare(a.SKU, b.SKU) })
	h := sha256.New()
	var buf []byte
	for _, c := range sorted {
		buf = append(buf[:0], c.SKU...)
		buf = append(buf, 0)
		buf = strconv.AppendInt(buf, c.OnHand, 10)
		buf = append(buf, 0)
		if c.LowStockThreshold != nil {
			buf = strconv.AppendInt(buf, *c.LowStockThreshold, 10)
		} else {
			buf = append(buf, '-')
		}
		buf = append(buf, '\n')
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Validate checks a reservation request. It returns EINVALID with field
// errors.
func (r ReserveRequest) Validate() error {
	var v shopd.Validation
	v.Check(validReference(r.Reference), "reference", "must be 1 to 100 printable ASCII characters without spaces")
	v.Check(marketCodeRE.MatchString(r.Market), "market", "must be a market code such as \"us\"")
	v.Check(!r.ExpiresAt.IsZero(), "expires_at", "is required")
	if v.Check(len(r.Lines) >= 1 && len(r.Lines) <= MaxReserveLines, "lines", "must hold 1 to 1000 lines") {
		for i, l := range r.Lines {
			f := "lines[" + strconv.Itoa(i) + "]"
			checkSKU(&v, f+".sku", l.SKU)
			checkQuantity(&v, f+".quantity", l.Quantity)
		}
	}
	return v.Err()
}

// MergedLine is one SKU of a reservation request with its total quantity
// and the index of its first line in the request.
type MergedLine struct {
	SKU      string
	Quantity int64
	Index    int
}

// MergeLines adds up the quantities of lines with the same SKU and returns
// one line per SKU in SKU order: the order in which rows are locked, so
// that concurrent reservations never deadlock.
func MergeLines(lines []Line) []MergedLine {
	at := make(map[string]int, len(lines))
	out := make([]MergedLine, 0, len(lines))
	for i, l := range lines {
		if j, ok := at[l.SKU]; ok {
			out[j].Quantity += l.Quantity
			continue
		}
		at[l.SKU] = len(out)
		out = append(out, MergedLine{SKU: l.SKU, Quantity: l.Quantity, Index: i})
	}
	slices.SortFunc(out, func(a, b MergedLine) int { return strings.Compare(a.SKU, b.SKU) })
	return out
}

// OutOfStock returns the ECONFLICT "out-of-stock" error for a line that
// cannot be covered; available is what the market's warehouses have.
func OutOfStock(l MergedLine, available int64) *shopd.Error {
	return &shopd.Error{
		Code: shopd.ECONFLICT, Type: "out-of-stock",
		Message: "Not enough stock of SKU " + strconv.Quote(l.SKU) + ": " + strconv.FormatInt(l.Quantity, 10) +
			" requested, " + strconv.FormatInt(available, 10) + " available.",
		Fields: []shopd.FieldError{{Field: "lines[" + strconv.Itoa(l.Index) + "].quantity",
			Message: "only " + strconv.FormatInt(available, 10) + " available"}},
	}
}

// UnknownSKUs returns the EINVALID "unknown-sku" error naming SKUs the
// catalog does not have; field(i) names the input field of unknown[i].
func UnknownSKUs(unknown []string, field func(i int) string) *shopd.Error {
	shown := unknown[:min(len(unknown), MaxUnknownSKUsShow)]
	quoted := make([]string, len(shown))
	for i, s := range shown {
		quoted[i] = strconv.Quote(s)
	}
	msg := "Unknown SKU"
	if len(unknown) > 1 {
		msg += "s"
	}
	msg += ": " + strings.Join(quoted, ", ")
	if len(unknown) > len(shown) {
		msg += " and " + strconv.Itoa(len(unknown)-len(shown)) + " more"
	}
	e := &shopd.Error{Code: shopd.EINVALID, Type: "unknown-sku", Message: msg + "."}
	for i := range unknown[:min(len(unknown), 100)] {
		e.Fields = append(e.Fields, shopd.FieldError{Field: field(i), Message: "no variant has this SKU"})
	}
	return e
}

// EncodeStockCursor makes the cursor of a stock page that ends at (sku,
// warehouseID).
func EncodeStockCursor(sku, warehouseID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sku + "\x00" + warehouseID))
}

// DecodeStockCursor reads a cursor made by EncodeStockCursor.
func DecodeStockCursor(c string) (sku, warehouseID string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", false
	}
	sku, warehouseID, ok = strings.Cut(string(b), "\x00")
	return sku, warehouseID, ok && ValidSKU(sku) && shopd.HasIDPrefix(warehouseID, WarehousePrefix)
}
