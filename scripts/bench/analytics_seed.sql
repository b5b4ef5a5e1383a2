-- The large tenant of scripts/bench/analytics.py: :t is the tenant id, :now the seeding time.
-- Statements end with ";" at the end of a line; lines starting with "--" are comments.

INSERT INTO distributors (tenant_id, code, name, regions) SELECT :t, 'D' || g, '经销 ' || g, '{4403}' FROM generate_series(1, 10) g;

INSERT INTO locations (tenant_id, code, name, kind, lat, lng, regions) VALUES (:t, 'WH-SZ', '深圳仓', 'regional', 22.6, 114.0, '{4403}'), (:t, 'WH-CN', '总仓', 'central', 23.0, 113.7, '{}');

INSERT INTO locations (tenant_id, code, name, kind, lat, lng) SELECT :t, 'S' || lpad(g::text, 4, '0'), '门店 ' || g, 'store', 22.5 + g / 10000.0, 113.9 FROM generate_series(1, 1000) g;

INSERT INTO stores (tenant_id, code, name, location_id, distributor_id, region, address, delivery_radius_km) SELECT :t, l.code, l.name, l.id, (SELECT id FROM distributors WHERE tenant_id = :t AND code = 'D' || (1 + l.id % 10)), '440305', '南山', 5 FROM locations l WHERE l.tenant_id = :t AND l.kind = 'store';

INSERT INTO products (tenant_id, code, title, category, status, published_at) SELECT :t, 'P' || g, '龙井 ' || g, '绿茶', 'published', now() FROM generate_series(1, 50) g;

INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price) SELECT :t, p.id, p.code || '-' || s, '100g', 1990, 1990, 1990 FROM products p, generate_series(1, 4) s WHERE p.tenant_id = :t;

INSERT INTO kocs (tenant_id, code, store_id, name) SELECT :t, 'K' || s.id || '-' || g, s.id, 'koc' FROM stores s, generate_series(1, 2) g WHERE s.tenant_id = :t;

INSERT INTO consumers (tenant_id, openid) SELECT :t, 'c' || g FROM generate_series(1, 200000) g;
-- touches: two per consumer on average, at random stores (half through the store's first KOC)
INSERT INTO touches (tenant_id, consumer_id, store_id, koc_id, outcome, created_at)
WITH sk AS (SELECT s.id, row_number() OVER (ORDER BY s.id) - 1 AS n, min(k.id) AS koc
            FROM stores s JOIN kocs k ON k.tenant_id = :t AND k.store_id = s.id WHERE s.tenant_id = :t GROUP BY s.id)
SELECT :t, c.id, sk.id, CASE WHEN random() < 0.5 THEN sk.koc END, 'new', :now - random() * interval '120 days'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM consumers WHERE tenant_id = :t) c
CROSS JOIN generate_series(1, 2) g
JOIN sk ON sk.n = (c.n * 7 + g * 13) % 1000;
-- one million paid orders over 120 days; a third shipped partly by a warehouse; one in ten partly refunded
INSERT INTO order_facts (tenant_id, order_id, consumer_id, store_id, koc_id, paid_at, day, gmv, refunds,
                         in_store_sales, cloud_shelf_sales, store_commission, koc_commission)
WITH sk AS (SELECT s.id, row_number() OVER (ORDER BY s.id) - 1 AS n, min(k.id) AS koc
            FROM stores s JOIN kocs k ON k.tenant_id = :t AND k.store_id = s.id WHERE s.tenant_id = :t GROUP BY s.id),
     c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM consumers WHERE tenant_id = :t)
SELECT :t, g, c.id, sk.id, CASE WHEN g % 3 = 0 THEN sk.koc END, o.at, (o.at AT TIME ZONE 'UTC')::date,
       o.gmv, CASE WHEN g % 10 = 0 THEN o.gmv / 3 ELSE 0 END,
       CASE WHEN g % 3 = 1 THEN o.gmv / 2 ELSE o.gmv END, CASE WHEN g % 3 = 1 THEN o.gmv - o.gmv / 2 ELSE 0 END,
       o.gmv / 20, CASE WHEN g % 3 = 0 THEN o.gmv / 33 ELSE 0 END
FROM generate_series(CAST(1 AS bigint), 1000000) g
CROSS JOIN LATERAL (SELECT :now - (g % 120) * interval '1 day' - (g * 7919 % 86400) * interval '1 second' AS at,
                           1990 * (1 + g % 4) AS gmv) o
JOIN c ON c.n = g % 200000
JOIN sk ON sk.n = c.n % 1000;
INSERT INTO cloud_shelf_lines (tenant_id, order_id, sku_id, store_id, consumer_id, paid_at, units, goods)
WITH k AS (SELECT min(id) AS first FROM skus WHERE tenant_id = :t)
SELECT :t, f.order_id, k.first + f.order_id % 200, f.store_id, f.consumer_id, f.paid_at, 1 + f.order_id % 2,
       f.cloud_shelf_sales
FROM order_facts f CROSS JOIN k WHERE f.tenant_id = :t AND f.cloud_shelf_sales > 0;

INSERT INTO store_daily (tenant_id, store_id, day, orders, gmv, refunds, in_store_sales, cloud_shelf_sales,
                                commission, touches, new_bindings)
    SELECT :t, store_id, day, sum(orders), sum(gmv), sum(refunds), sum(ins), sum(cloud), sum(com), sum(touches), 0 FROM (
      SELECT store_id, day, 1 AS orders, gmv, refunds, in_store_sales AS ins, cloud_shelf_sales AS cloud,
             store_commission AS com, 0 AS touches FROM order_facts WHERE tenant_id = :t
      UNION ALL
      SELECT store_id, (created_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 0, 0, 1 FROM touches WHERE tenant_id = :t) x
    GROUP BY store_id, day;

INSERT INTO consumer_milestones (tenant_id, consumer_id, first_touch_at, first_touch_store_id, first_touch_koc_id,
                                        first_touch_source, touches, bound_store_id, bound_koc_id, bound_at, first_bound_at,
                                        first_paid_at, second_paid_at, last_paid_at, paid_orders, net_goods)
    SELECT :t, t.consumer_id, t.created_at, t.store_id, t.koc_id, 'link', 2, t.store_id, t.koc_id, t.created_at,
           t.created_at, o.first, o.second, o.last, COALESCE(o.n, 0), COALESCE(o.net, 0)
    FROM (SELECT DISTINCT ON (consumer_id) consumer_id, store_id, koc_id, created_at FROM touches
          WHERE tenant_id = :t ORDER BY consumer_id, created_at) t
    LEFT JOIN (SELECT consumer_id, min(paid_at) AS first, (array_agg(paid_at ORDER BY paid_at))[2] AS second,
                      max(paid_at) AS last, count(*) AS n, sum(gmv - refunds) AS net
               FROM order_facts WHERE tenant_id = :t GROUP BY consumer_id) o ON o.consumer_id = t.consumer_id;

-- the tenant's days in 8 slots by consumer (analytics.models.TENANT_DAY_SLOTS), with each consumer's last payment
INSERT INTO tenant_daily (tenant_id, day, slot, orders, gmv, refunds, in_store_sales, cloud_shelf_sales, last_payers)
    SELECT :t, day, slot, sum(orders), sum(gmv), sum(refunds), sum(ins), sum(cloud), sum(last) FROM (
      SELECT day, consumer_id % 8 AS slot, 1 AS orders, gmv, refunds, in_store_sales AS ins,
             cloud_shelf_sales AS cloud, 0 AS last FROM order_facts WHERE tenant_id = :t
      UNION ALL
      SELECT (last_paid_at AT TIME ZONE 'UTC')::date, consumer_id % 8, 0, 0, 0, 0, 0, 1 FROM consumer_milestones
      WHERE tenant_id = :t AND last_paid_at IS NOT NULL) x
    GROUP BY day, slot;

INSERT INTO store_totals (tenant_id, store_id, bound_consumers)
    SELECT :t, bound_store_id, count(*) FROM consumer_milestones
    WHERE tenant_id = :t AND bound_store_id IS NOT NULL GROUP BY bound_store_id;

INSERT INTO koc_daily (tenant_id, koc_id, day, touches, bindings, orders, sales, commission)
    SELECT :t, koc_id, day, sum(touches), sum(bindings), sum(orders), sum(sales), sum(com) FROM (
      SELECT koc_id, day, 0 AS touches, 0 AS bindings, 1 AS orders, gmv - refunds AS sales, koc_commission AS com
      FROM order_facts WHERE tenant_id = :t AND koc_id IS NOT NULL
      UNION ALL
      SELECT koc_id, (created_at AT TIME ZONE 'UTC')::date, 1, 0, 0, 0, 0 FROM touches WHERE tenant_id = :t AND koc_id IS NOT NULL
      UNION ALL
      SELECT bound_koc_id, (bound_at AT TIME ZONE 'UTC')::date, 0, 1, 0, 0, 0 FROM consumer_milestones
      WHERE tenant_id = :t AND bound_koc_id IS NOT NULL) x
    GROUP BY koc_id, day;

UPDATE store_daily d SET new_bindings = b.n FROM (
      SELECT bound_store_id, (bound_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM consumer_milestones
      WHERE tenant_id = :t GROUP BY 1, 2) b
    WHERE d.tenant_id = :t AND d.store_id = b.bound_store_id AND d.day = b.day;
