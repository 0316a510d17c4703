//! The `Postgres` source kind: a generator whose rows come from an SQL query.
//!
//! `{Postgres: {url: "postgresql://user@host:5432/db", query: "select ts, volume as \"Volume\" from bars
//! where symbol = 'BTCUSDT' order by ts", time: ts}}`. The query's `time` column is the event time: a
//! `timestamptz` or `timestamp` (read as UTC), or whole numbers since the epoch in `unit` (`ms`, the
//! default, `us` or `ns`). Every other column is a field, named as the query names it: numbers, and
//! booleans as 1 and 0. The query must order its rows by time; a row out of order stops the run naming
//! it. A Batch range is applied in SQL (the query is wrapped in a `where` on its time column), and rows
//! come through a cursor, 10,000 at a time, never loaded whole.
//!
//! `tubes check` connects to learn the query's columns (it prepares the query; it reads no row). The run
//! connects again on the generator's own thread, where the client library runs.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use postgres::types::{ToSql, Type};
use serde_yaml::Value;

use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::base::points::Points;
use crate::base::{Ctx, GenCounters, Outlet, Push, RunError};
use crate::config::{field, Diagnostics, Reader};
use crate::connect::postgres::Target;
use crate::connect::quote;
use crate::plugin::{CheckSource, OpenSource, Source, SourceKind, SourceRun};

/// Rows fetched from the cursor at a time.
const FETCH: i32 = 10_000;

/// The `Postgres` source kind.
pub struct Postgres;

/// What the time column holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Time {
    /// `timestamptz`.
    Zoned,
    /// `timestamp`, read as UTC.
    Naive,
    /// Whole numbers since the epoch, this many ns each.
    Int(i64),
}

/// A query's columns as the generator reads them: the time's kind, and each field with whether it is
/// a boolean.
#[derive(Clone, Debug)]
struct Plan {
    time: Time,
    fields: Vec<(String, bool)>,
}

/// A checked `Postgres` source.
#[derive(Debug)]
pub struct PgSource {
    target: Target,
    query: String,
    time: String,
    /// ns per unit of an integer time column.
    unit: i64,
    plan: Option<Plan>,
}

impl SourceKind for Postgres {
    fn name(&self) -> &'static str {
        "Postgres"
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example = "Postgres: {url: \"postgresql://user@127.0.0.1:5432/db\", query: \"select ts, price from trades order by ts\", time: ts}";
        let m = r.mapping(
            v,
            path,
            &["url", "query", "time", "unit"],
            &["query", "time"],
            example,
        )?;
        let url = match m.get("url") {
            Some(u) => Some(r.string(u, &field(path, "url"))?),
            None => None,
        };
        let query = r.string(m.get("query")?, &field(path, "query"))?;
        let time = r.string(m.get("time")?, &field(path, "time"))?;
        let unit = match m.get("unit") {
            None => 1_000_000,
            Some(u) => match r.string(u, &field(path, "unit"))?.as_str() {
                "ms" => 1_000_000,
                "us" => 1_000,
                "ns" => 1,
                other => {
                    r.diag.error(
                        &field(path, "unit"),
                        format!("unknown unit '{other}'"),
                        Some("the unit of a whole-number time column: ms, us or ns".into()),
                    );
                    return None;
                }
            },
        };
        let target = match Target::parse(url.as_deref()) {
            Ok(t) => t,
            Err(why) => {
                r.diag.error(&field(path, "url"), why, None);
                return None;
            }
        };
        Some(Box::new(PgSource {
            target,
            query,
            time,
            unit,
            plan: None,
        }))
    }
}

impl PgSource {
    /// Learns the query's columns from the server.
    fn plan(&self) -> Result<Plan, String> {
        let mut client = self.target.connect()?;
        let stmt = client
            .prepare(&self.query)
            .map_err(|e| format!("the query does not run: {}", self.target.scrub(&e)))?;
        let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
        let mut time = None;
        let mut fields = Vec::new();
        for c in stmt.columns() {
            let t = c.type_();
            if c.name() == self.time {
                time = Some(match *t {
                    Type::TIMESTAMPTZ => Time::Zoned,
                    Type::TIMESTAMP => Time::Naive,
                    Type::INT2 | Type::INT4 | Type::INT8 => Time::Int(self.unit),
                    _ => return Err(format!(
                        "the time column '{}' is of type {t}; it must be a timestamptz, a timestamp or whole numbers since the epoch",
                        self.time
                    )),
                });
            } else if matches!(
                *t,
                Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC
            ) {
                fields.push((c.name().to_string(), false));
            } else if *t == Type::BOOL {
                fields.push((c.name().to_string(), true));
            } else {
                return Err(format!(
                    "column '{}' is of type {t}; a generator's fields are numbers (or booleans): select it as a number, or leave it out",
                    c.name()
                ));
            }
        }
        let Some(time) = time else {
            return Err(format!(
                "the query has no column '{}' (its columns: {}); name its time column with time:",
                self.time,
                names.join(", ")
            ));
        };
        if fields.len() > MAX_FIELDS {
            return Err(format!(
                "the query has {} columns besides its time; a datapoint carries at most {MAX_FIELDS}",
                fields.len()
            ));
        }
        Ok(Plan { time, fields })
    }

    /// The wrapped query: the time in ns-convertible whole numbers, each field as a double, the Batch
    /// range as a `where` on the time column. Its parameters are the range's bounds.
    fn sql(&self, plan: &Plan, range: Option<(i64, i64)>) -> (String, Vec<i64>) {
        let col = format!("tubes_q.{}", quote(&self.time));
        let time = match plan.time {
            Time::Zoned | Time::Naive => format!("(extract(epoch from {col}) * 1000000)::int8"),
            Time::Int(_) => format!("{col}::int8"),
        };
        let mut select = vec![time];
        for (name, boolean) in &plan.fields {
            let cast = if *boolean {
                "::int::float8"
            } else {
                "::float8"
            };
            select.push(format!("tubes_q.{}{cast}", quote(name)));
        }
        let mut sql = format!(
            "select {} from ({}) as tubes_q",
            select.join(", "),
            self.query
        );
        let mut params = Vec::new();
        if let Some((from, to)) = range {
            // [from, to) in ns, as bounds on the column's own values, rounded up: a value v is in the
            // range when v * unit >= from and v * unit < to.
            let per = match plan.time {
                Time::Zoned | Time::Naive => 1_000,
                Time::Int(unit) => unit,
            };
            params = vec![
                from.div_euclid(per) + i64::from(from.rem_euclid(per) != 0),
                to.div_euclid(per) + i64::from(to.rem_euclid(per) != 0),
            ];
            let bound = |n: usize| match plan.time {
                Time::Zoned => {
                    format!("'epoch'::timestamptz + ${n}::int8 * interval '1 microsecond'")
                }
                Time::Naive => {
                    format!("'epoch'::timestamp + ${n}::int8 * interval '1 microsecond'")
                }
                Time::Int(_) => format!("${n}::int8"),
            };
            sql.push_str(&format!(
                " where {col} >= {} and {col} < {}",
                bound(1),
                bound(2)
            ));
        }
        (sql, params)
    }
}

impl Source for PgSource {
    fn check(&mut self, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> Option<Vec<String>> {
        match self.plan() {
            Ok(plan) => {
                let names = plan.fields.iter().map(|(n, _)| n.clone()).collect();
                self.plan = Some(plan);
                Some(names)
            }
            Err(why) => {
                diag.error(
                    cx.path,
                    why,
                    Some(
                        "tubes check connects to the database to learn the query's columns".into(),
                    ),
                );
                None
            }
        }
    }

    fn describe(&self) -> String {
        format!("Postgres {}", self.target)
    }

    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        let plan = self
            .plan
            .clone()
            .expect("a source is opened after its check");
        let (sql, bounds) = self.sql(&plan, at.range);
        let per = match plan.time {
            Time::Zoned | Time::Naive => 1_000,
            Time::Int(unit) => unit,
        };
        Ok(Box::new(PgRun {
            target: self.target.clone(),
            sql,
            bounds,
            per,
            fields: plan.fields.len(),
            id: at.id,
            counters: at.counters,
            time: self.time.clone(),
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A query's rows, pushed in order.
struct PgRun {
    target: Target,
    sql: String,
    bounds: Vec<i64>,
    /// ns per unit of the time the query returns.
    per: i64,
    fields: usize,
    id: TubeId,
    counters: Arc<GenCounters>,
    time: String,
}

impl PgRun {
    fn rows<P: Push>(&mut self, out: &mut P, ctx: &mut Ctx) -> Result<(), RunError> {
        let fail = |what: String| RunError::Input(format!("Postgres {}: {what}", self.target));
        let mut client = self.target.connect().map_err(fail)?;
        let mut tx = client
            .transaction()
            .map_err(|e| fail(self.target.scrub(&e)))?;
        let params: Vec<&(dyn ToSql + Sync)> = self
            .bounds
            .iter()
            .map(|b| b as &(dyn ToSql + Sync))
            .collect();
        let portal = tx
            .bind(self.sql.as_str(), &params)
            .map_err(|e| fail(format!("the query does not run: {}", self.target.scrub(&e))))?;
        let mut template = Datapoint::new(Kind::Data, self.id, 0, 0);
        template.len = self.fields as u8;
        let (mut n, mut last) = (0u64, i64::MIN);
        loop {
            if ctx.stopped() || ctx.stop_requested() {
                break;
            }
            let batch = tx
                .query_portal(&portal, FETCH)
                .map_err(|e| fail(self.target.scrub(&e)))?;
            if batch.is_empty() {
                break;
            }
            for row in &batch {
                n += 1;
                let t: i64 = row.get(0);
                let time = t
                    .checked_mul(self.per)
                    .ok_or_else(|| fail(format!("row {n}: time {t} is out of range")))?;
                if time < last {
                    return Err(fail(format!(
                        "row {n} of the query (time {t}) comes before the row before it; order the query by its time column ({})",
                        self.time
                    )));
                }
                last = time;
                let mut dp = template;
                dp.event_time = time;
                for k in 0..self.fields {
                    let v: Option<f64> = row.get(k + 1);
                    dp.values[k] = v.ok_or_else(|| {
                        fail(format!(
                            "row {n} of the query has no value (NULL) in column {}",
                            k + 2
                        ))
                    })?;
                }
                dp.ingest_time = out.ingest_now();
                out.push(dp, dp.ingest_time, ctx)?;
            }
            out.notify();
            self.counters.rows.store(n, Ordering::Relaxed);
        }
        self.counters.rows.store(n, Ordering::Relaxed);
        Ok(())
    }
}

impl SourceRun for PgRun {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        self.rows(out, ctx)
    }

    fn collect(&mut self, into: &mut Points, ctx: &mut Ctx) -> Result<(), RunError> {
        self.rows(into, ctx)
    }
}
