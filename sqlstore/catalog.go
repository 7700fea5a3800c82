package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
)

// CatalogStore implements catalog.Store.
type CatalogStore struct{ db *DB }

var _ catalog.Store = (*CatalogStore)(nil)

// Catalog returns the catalog store.
func (db *DB) Catalog() *CatalogStore { return &CatalogStore{db: db} }

const productCols = `p.id, p.handle, p.title, p.description, p.status, p.launch_at, p.purchase_limit, p.tax_category,
	p.attributes, p.media, p.created_at, p.updated_at`

// Conflict types of the catalog's unique constraints.
const (
	errHandleTaken = "handle-taken"
	errSKUTaken    = "sku-taken"
)

func productNotFound() error {
	return shopd.TypedErrorf(shopd.ENOTFOUND, "product-not-found", "No such product.")
}

func variantNotFound() error {
	return shopd.TypedErrorf(shopd.ENOTFOUND, "variant-not-found", "No such variant.")
}

// CreateProduct implements catalog.Store. It returns ECONFLICT
// "handle-taken" or "sku-taken".
func (s *CatalogStore) CreateProduct(ctx context.Context, p catalog.Product) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return insertProducts(ctx, tx, []catalog.Product{p}) })
}

// catalogInsertBatch is how many products InsertProducts writes per transaction:
// large enough to amortize commits, small enough that other writers wait
// well under a second.
const catalogInsertBatch = 2000

// InsertProducts implements catalog.Store: it writes the products with their
// variants, prices and attributes using multi-row INSERTs, catalogInsertBatch
// products per transaction. A batch that fails leaves earlier batches
// written. It returns ECONFLICT "handle-taken" or "sku-taken".
func (s *CatalogStore) InsertProducts(ctx context.Context, ps []catalog.Product) error {
	for len(ps) > 0 {
		n := min(len(ps), catalogInsertBatch)
		if err := s.db.InTx(ctx, func(tx *Tx) error { return insertProducts(ctx, tx, ps[:n]) }); err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}

// catalogMaxParams bounds the catalogPlaceholders of one statement, under the limits of
// both engines (SQLite 32766, PostgreSQL 65535).
const catalogMaxParams = 30000

// catalogInsert inserts rows of len(cols) values each with as few statements
// as the parameter limit allows.
type catalogInsert struct {
	table string
	cols  []string
	args  []any
}

func (m *catalogInsert) add(vals ...any) { m.args = append(m.args, vals...) }

func (m *catalogInsert) exec(ctx context.Context, tx *Tx) error {
	width := len(m.cols)
	perStmt := catalogMaxParams / width
	var full string // the SQL of a full-size chunk, built once
	for args := m.args; len(args) > 0; {
		rows := min(len(args)/width, perStmt)
		q := full
		if q == "" || rows < perStmt {
			q = catalogInsertSQL(tx.Dialect(), m.table, m.cols, rows)
			if rows == perStmt {
				full = q
			}
		}
		if _, err := tx.ExecContext(ctx, q, args[:rows*width]...); err != nil {
			return err
		}
		args = args[rows*width:]
	}
	return nil
}

// catalogInsertSQL returns a multi-row INSERT. It is the one place where the
// SQL text differs by engine: SQLite looks up each "$n" placeholder by name
// in a list, which is quadratic in a statement with thousands of them, so
// SQLite gets anonymous "?" placeholders (bound in order, the same order).
func catalogInsertSQL(d Dialect, table string, cols []string, rows int) string {
	var b strings.Builder
	b.Grow(40 + rows*len(cols)*7)
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			if d == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
				n++
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insertProducts writes products and everything they hold. Products go
// first, so a unique violation there is the handle and one in variants the
// SKU.
func insertProducts(ctx context.Context, tx *Tx, ps []catalog.Product) error {
	prods := catalogInsert{table: "products", cols: []string{"id", "handle", "title", "description", "status", "launch_at",
		"purchase_limit", "tax_category", "attributes", "media", "created_at", "updated_at"}}
	var variants []variantRow
	for _, p := range ps {
		attrs, media, err := productJSON(p)
		if err != nil {
			return err
		}
		prods.add(p.ID, p.Handle, p.Title, p.Description, string(p.Status), nullMicros(p.LaunchAt),
			p.PurchaseLimit, p.TaxCategory, attrs, media, micros(p.CreatedAt), micros(p.UpdatedAt))
		for _, v := range p.Variants {
			variants = append(variants, variantRow{p.ID, v})
		}
	}
	if err := prods.exec(ctx, tx); err != nil {
		return conflictOr(err, errHandleTaken, "The handle is already used by another product.")
	}
	if err := insertAttributes(ctx, tx, ps); err != nil {
		return err
	}
	return insertVariants(ctx, tx, variants)
}

type variantRow struct {
	productID string
	catalog.Variant
}

func insertVariants(ctx context.Context, tx *Tx, vs []variantRow) error {
	rows := catalogInsert{table: "variants", cols: []string{"id", "product_id", "sku", "title", "options", "position", "created_at", "updated_at"}}
	prices := catalogInsert{table: "variant_prices", cols: []string{"variant_id", "market", "amount", "currency", "compare_at"}}
	for _, v := range vs {
		opts, err := json.Marshal(catalogNonNil(v.Options))
		if err != nil {
			return err
		}
		rows.add(v.ID, v.productID, v.SKU, v.Title, string(opts), v.Position, micros(v.CreatedAt), micros(v.UpdatedAt))
		addPrices(&prices, v.ID, v.Prices)
	}
	if err := rows.exec(ctx, tx); err != nil {
		return conflictOr(err, errSKUTaken, "The SKU is already used by another variant.")
	}
	return prices.exec(ctx, tx)
}

func addPrices(m *catalogInsert, variantID string, prices map[string]catalog.Price) {
	for _, code := range catalogKeys(prices) {
		pr := prices[code]
		var cmp sql.NullInt64
		if pr.CompareAt != nil {
			cmp = sql.NullInt64{Int64: pr.CompareAt.Amount, Valid: true}
		}
		m.add(variantID, code, pr.Amount.Amount, pr.Amount.Currency, cmp)
	}
}

func insertAttributes(ctx context.Context, tx *Tx, ps []catalog.Product) error {
	rows := catalogInsert{table: "product_attributes", cols: []string{"product_id", "name", "value"}}
	for _, p := range ps {
		for _, name := range catalogKeys(p.Attributes) {
			seen := map[string]bool{}
			for _, v := range p.Attributes[name] {
				if !seen[v] {
					seen[v] = true
					rows.add(p.ID, name, v)
				}
			}
		}
	}
	return rows.exec(ctx, tx)
}

func productJSON(p catalog.Product) (attrs, media string, err error) {
	a, err := json.Marshal(catalogNonNil(p.Attributes))
	if err != nil {
		return "", "", err
	}
	ms := p.Media
	if ms == nil {
		ms = []catalog.Media{}
	}
	m, err := json.Marshal(ms)
	return string(a), string(m), err
}

func catalogNonNil[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func catalogKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Product implements catalog.Store. It returns ENOTFOUND.
func (s *CatalogStore) Product(ctx context.Context, id string) (catalog.Product, error) {
	var p catalog.Product
	err := s.db.catalogSnapshot(ctx, func(r Reader) (err error) {
		p, err = loadProduct(ctx, r, `p.id = $1`, id, "")
		return err
	})
	return p, err
}

// ProductByHandle implements catalog.Store. It returns ENOTFOUND.
func (s *CatalogStore) ProductByHandle(ctx context.Context, handle string) (catalog.Product, error) {
	var p catalog.Product
	err := s.db.catalogSnapshot(ctx, func(r Reader) (err error) {
		p, err = loadProduct(ctx, r, `p.handle = $1`, handle, "")
		return err
	})
	return p, err
}

// catalogSnapshot runs fn in a read-only transaction on the read pool, so that
// a product and its variants are read from one snapshot.
func (db *DB) catalogSnapshot(ctx context.Context, fn func(r Reader) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(dialectReader{tx, db.dialect}); err != nil {
		return err
	}
	return tx.Commit()
}

// loadProduct reads one product matching where ($1 = arg) with its variants
// and prices; lock is "" or a row-lock clause.
func loadProduct(ctx context.Context, r Reader, where string, arg any, lock string) (catalog.Product, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+productCols+` FROM products p WHERE `+where+lock, arg)
	if err != nil {
		return catalog.Product{}, err
	}
	ps, err := scanProducts(rows)
	if err != nil {
		return catalog.Product{}, err
	}
	if len(ps) == 0 {
		return catalog.Product{}, productNotFound()
	}
	if err := loadVariants(ctx, r, ps, ""); err != nil {
		return catalog.Product{}, err
	}
	return ps[0], nil
}

func scanProducts(rows *sql.Rows) ([]catalog.Product, error) {
	defer rows.Close()
	var out []catalog.Product
	for rows.Next() {
		var p catalog.Product
		var launch sql.NullInt64
		var status, attrs, media string
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Handle, &p.Title, &p.Description, &status, &launch, &p.PurchaseLimit, &p.TaxCategory,
			&attrs, &media, &created, &updated); err != nil {
			return nil, err
		}
		if err := decodeProduct(&p, status, launch, attrs, media, created, updated); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// loadVariants fills in the variants and prices of ps with two queries. With
// a market, only prices in that market are read and variants without one
// are left out.
func loadVariants(ctx context.Context, r Reader, ps []catalog.Product, market string) error {
	if len(ps) == 0 {
		return nil
	}
	args := make([]any, len(ps), len(ps)+1)
	index := make(map[string]int, len(ps))
	for i, p := range ps {
		args[i] = p.ID
		index[p.ID] = i
	}
	in := catalogPlaceholders(1, len(ps))
	rows, err := r.QueryContext(ctx, `SELECT v.id, v.product_id, v.sku, v.title, v.options, v.position, v.created_at, v.updated_at
		FROM variants v WHERE v.product_id IN (`+in+`) ORDER BY v.product_id, v.position, v.id`, args...)
	if err != nil {
		return err
	}
	type ref struct{ product, variant int }
	byID := map[string]ref{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var v catalog.Variant
			var opts string
			var created, updated int64
			if err := rows.Scan(&v.ID, &v.ProductID, &v.SKU, &v.Title, &opts, &v.Position, &created, &updated); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
				return fmt.Errorf("sqlstore: variant %s options: %w", v.ID, err)
			}
			v.Options, v.Prices = catalogNonNil(v.Options), map[string]catalog.Price{}
			v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
			i := index[v.ProductID]
			byID[v.ID] = ref{i, len(ps[i].Variants)}
			ps[i].Variants = append(ps[i].Variants, v)
		}
		return rows.Err()
	}()
	if err != nil {
		return err
	}
	q := `SELECT vp.variant_id, vp.market, vp.amount, vp.currency, vp.compare_at FROM variant_prices vp
		JOIN variants v ON v.id = vp.variant_id WHERE v.product_id IN (` + in + `)`
	if market != "" {
		q += ` AND vp.market = $` + strconv.Itoa(len(ps)+1)
		args = append(args, market)
	}
	rows, err = r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var variantID, code, currency string
		var amount int64
		var cmp sql.NullInt64
		if err := rows.Scan(&variantID, &code, &amount, &currency, &cmp); err != nil {
			return err
		}
		pr := catalog.Price{Amount: shopd.Money{Amount: amount, Currency: currency}}
		if cmp.Valid {
			pr.CompareAt = &shopd.Money{Amount: cmp.Int64, Currency: currency}
		}
		if ref, ok := byID[variantID]; ok {
			ps[ref.product].Variants[ref.variant].Prices[code] = pr
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if market != "" {
		for i := range ps {
			ps[i].Variants = slices.DeleteFunc(ps[i].Variants, func(v catalog.Variant) bool { return len(v.Prices) == 0 })
		}
	}
	return nil
}

// catalogPlaceholders returns "$from, $from+1, …" for n values.
func catalogPlaceholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// lockProduct reads a product with its variants inside a write transaction,
// holding its row lock, so that changes to one product are serialized.
func lockProduct(ctx context.Context, tx *Tx, id string) (catalog.Product, error) {
	return loadProduct(ctx, tx, `p.id = $1`, id, tx.Dialect().ForUpdate())
}

// UpdateProduct implements catalog.Store. It returns ENOTFOUND, ECONFLICT
// "handle-taken", or the error of fn.
func (s *CatalogStore) UpdateProduct(ctx context.Context, id string, fn func(p *catalog.Product) error) (catalog.Product, error) {
	var out catalog.Product
	err := s.db.InTx(ctx, func(tx *Tx) error {
		old, err := lockProduct(ctx, tx, id)
		if err != nil {
			return err
		}
		p := old
		p.Attributes = cloneAttributes(old.Attributes)
		p.Media = slices.Clone(old.Media)
		if err := fn(&p); err != nil {
			return err
		}
		p.ID, p.Variants, p.CreatedAt = old.ID, old.Variants, old.CreatedAt
		attrs, media, err := productJSON(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE products SET handle = $2, title = $3, description = $4, status = $5, launch_at = $6,
			purchase_limit = $7, tax_category = $8, attributes = $9, media = $10, updated_at = $11 WHERE id = $1`,
			p.ID, p.Handle, p.Title, p.Description, string(p.Status), nullMicros(p.LaunchAt), p.PurchaseLimit, p.TaxCategory,
			attrs, media, micros(p.UpdatedAt))
		if err != nil {
			return conflictOr(err, errHandleTaken, "The handle is already used by another product.")
		}
		if oldAttrs, _, _ := productJSON(old); oldAttrs != attrs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM product_attributes WHERE product_id = $1`, p.ID); err != nil {
				return err
			}
			if err := insertAttributes(ctx, tx, []catalog.Product{p}); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	return out, err
}

func cloneAttributes(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// AddVariant implements catalog.Store. It returns ENOTFOUND, ECONFLICT
// "sku-taken", or the error of fn.
func (s *CatalogStore) AddVariant(ctx context.Context, productID string, fn func(p *catalog.Product) (catalog.Variant, error)) (catalog.Variant, error) {
	var out catalog.Variant
	err := s.db.InTx(ctx, func(tx *Tx) error {
		p, err := lockProduct(ctx, tx, productID)
		if err != nil {
			return err
		}
		v, err := fn(&p)
		if err != nil {
			return err
		}
		v.ProductID = p.ID
		if err := insertVariants(ctx, tx, []variantRow{{p.ID, v}}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE products SET updated_at = $2 WHERE id = $1`, p.ID, micros(p.UpdatedAt)); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// UpdateVariant implements catalog.Store. It returns ENOTFOUND, ECONFLICT
// "sku-taken", or the error of fn.
func (s *CatalogStore) UpdateVariant(ctx context.Context, id string, fn func(p *catalog.Product, v *catalog.Variant) error) (catalog.Variant, error) {
	var out catalog.Variant
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var productID string
		err := tx.QueryRowContext(ctx, `SELECT product_id FROM variants WHERE id = $1`, id).Scan(&productID)
		if errors.Is(err, sql.ErrNoRows) {
			return variantNotFound()
		} else if err != nil {
			return err
		}
		// Lock the product first, as every other change does, then find the
		// variant again: it cannot move to another product.
		p, err := lockProduct(ctx, tx, productID)
		if err != nil {
			return err
		}
		old, ok := p.Variant(id)
		if !ok {
			return variantNotFound()
		}
		v := old
		if err := fn(&p, &v); err != nil {
			return err
		}
		v.ID, v.ProductID, v.CreatedAt = old.ID, old.ProductID, old.CreatedAt
		opts, err := json.Marshal(catalogNonNil(v.Options))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE variants SET sku = $2, title = $3, options = $4, position = $5, updated_at = $6 WHERE id = $1`,
			v.ID, v.SKU, v.Title, string(opts), v.Position, micros(v.UpdatedAt))
		if err != nil {
			return conflictOr(err, errSKUTaken, "The SKU is already used by another variant.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM variant_prices WHERE variant_id = $1`, v.ID); err != nil {
			return err
		}
		prices := catalogInsert{table: "variant_prices", cols: []string{"variant_id", "market", "amount", "currency", "compare_at"}}
		addPrices(&prices, v.ID, v.Prices)
		if err := prices.exec(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE products SET updated_at = $2 WHERE id = $1`, p.ID, micros(p.UpdatedAt)); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}

// Products implements catalog.Store: newest first, every status or one.
func (s *CatalogStore) Products(ctx context.Context, f catalog.ListFilter) (catalog.Page, error) {
	var where []string
	var args []any
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, `p.status = $`+strconv.Itoa(len(args)))
	}
	if f.Cursor != "" {
		args = append(args, f.Cursor)
		where = append(where, `p.id < $`+strconv.Itoa(len(args)))
	}
	q := `SELECT ` + productCols + ` FROM products p`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY p.id DESC LIMIT ` + strconv.Itoa(f.Limit+1)
	return s.page(ctx, f.Limit, "", q, args)
}

// StorefrontProducts implements catalog.Store: active products priced in
// f.Market and matching every attribute filter, by ID ascending, in three
// queries per page.
func (s *CatalogStore) StorefrontProducts(ctx context.Context, f catalog.ListFilter) (catalog.Page, error) {
	args := []any{f.Cursor, f.Market}
	var b strings.Builder
	b.WriteString(`SELECT ` + productCols + ` FROM products p WHERE p.status = 'active' AND p.id > $1
		AND EXISTS (SELECT 1 FROM variants v JOIN variant_prices vp ON vp.variant_id = v.id WHERE v.product_id = p.id AND vp.market = $2)`)
	for _, name := range catalogKeys(f.Attributes) {
		values := f.Attributes[name]
		args = append(args, name)
		fmt.Fprintf(&b, ` AND p.id IN (SELECT a.product_id FROM product_attributes a WHERE a.name = $%d AND a.value IN (%s))`,
			len(args), catalogPlaceholders(len(args)+1, len(values)))
		for _, v := range values {
			args = append(args, v)
		}
	}
	b.WriteString(` ORDER BY p.id LIMIT ` + strconv.Itoa(f.Limit+1))
	return s.page(ctx, f.Limit, f.Market, b.String(), args)
}

// page runs a product query that asks for limit+1 rows, and loads the
// variants of the first limit.
func (s *CatalogStore) page(ctx context.Context, limit int, market, q string, args []any) (catalog.Page, error) {
	var page catalog.Page
	err := s.db.catalogSnapshot(ctx, func(r Reader) error {
		rows, err := r.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		ps, err := scanProducts(rows)
		if err != nil {
			return err
		}
		if len(ps) > limit {
			ps = ps[:limit]
			page.NextCursor = ps[limit-1].ID
		}
		page.Products = ps
		return loadVariants(ctx, r, ps, market)
	})
	if page.Products == nil {
		page.Products = []catalog.Product{}
	}
	return page, err
}

// decodeProduct fills the product columns that are stored encoded: status,
// times, and the attributes and media JSON.
func decodeProduct(p *catalog.Product, status string, launch sql.NullInt64, attrs, media string, created, updated int64) error {
	p.Status, p.LaunchAt = catalog.Status(status), fromNullMicros(launch)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(attrs), &p.Attributes); err != nil {
		return fmt.Errorf("sqlstore: product %s attributes: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(media), &p.Media); err != nil {
		return fmt.Errorf("sqlstore: product %s media: %w", p.ID, err)
	}
	p.Attributes, p.Variants = catalogNonNil(p.Attributes), []catalog.Variant{}
	if p.Media == nil {
		p.Media = []catalog.Media{}
	}
	return nil
}
