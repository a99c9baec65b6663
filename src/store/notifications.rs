//! Notification records: events written inside the transactions of the changes that cause
//! them, the outbox of rendered messages per route, what each route has been told, and the
//! findings held for digests. SQL only; routing and rendering live in `notify`.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use super::{sql, Store, StoreError};
use crate::correlate::{AddedFindings, FindingChange, FindingsDelta};

/// An event waiting to be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationEvent {
    pub id: i64,
    /// `findings`, `rebuild` or `fix-installable`.
    pub kind: String,
    pub feed: Option<String>,
    pub advisory_id: Option<String>,
    pub rebuild_id: Option<i64>,
    pub detail: serde_json::Value,
    pub created_at: i64,
}

/// A message to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub route: String,
    pub subject: String,
    pub kind: String,
    pub payload: String,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub route: String,
    pub event_id: Option<i64>,
    pub subject: String,
    pub kind: String,
    pub payload: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub n_attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A finding held for a route's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestItem {
    pub id: i64,
    pub feed: String,
    pub advisory_id: String,
    pub detail: serde_json::Value,
    /// Unix milliseconds.
    pub added_at_ms: i64,
}

/// What routing one event does, applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    pub messages: Vec<NewMessage>,
    /// `(route, subject, images announced so far)`.
    pub announcements: Vec<(String, String, Vec<String>)>,
    /// `(route, feed, advisory id, detail)` held for digests.
    pub digest_items: Vec<(String, String, String, serde_json::Value)>,
}

/// Added findings of one package in a `findings` event's detail (which images: the notifier
/// reads the advisory's current images from the store).
#[derive(serde::Serialize)]
struct AddedDetail<'a> {
    package: &'a str,
    version: &'a str,
    source_name: &'a str,
    status: &'static str,
    fixed_version: Option<&'a str>,
    n_images: usize,
}

impl<'a> From<&'a AddedFindings> for AddedDetail<'a> {
    fn from(a: &'a AddedFindings) -> Self {
        AddedDetail {
            package: &a.package,
            version: &a.version,
            source_name: &a.source_name,
            status: a.status.as_str(),
            fixed_version: a.fixed_version.as_deref(),
            n_images: a.n_images,
        }
    }
}

/// One resolved finding in a `findings` event's detail (serialised straight from the change,
/// without a JSON tree per finding: an advisory can touch thousands of images).
#[derive(serde::Serialize)]
struct ChangeDetail<'a> {
    image: &'a str,
    platform: &'a str,
    package: &'a str,
    version: &'a str,
    source_name: &'a str,
    status: &'static str,
    fixed_version: Option<&'a str>,
}

impl<'a> From<&'a FindingChange> for ChangeDetail<'a> {
    fn from(c: &'a FindingChange) -> Self {
        ChangeDetail {
            image: &c.image,
            platform: &c.platform,
            package: &c.package,
            version: &c.version,
            source_name: &c.source_name,
            status: c.status.as_str(),
            fixed_version: c.fixed_version.as_deref(),
        }
    }
}

/// A `findings` event's detail: the findings that appeared (per package) and went away (per
/// image).
#[derive(Default, serde::Serialize)]
struct FindingsEventDetail<'a> {
    added: Vec<AddedDetail<'a>>,
    resolved: Vec<ChangeDetail<'a>>,
}

/// Writes one `findings` event per advisory whose findings changed, inside the caller's
/// transaction (an ingest's or a scan's). A rebaselined update (every finding recomputed)
/// writes none: a feed's first ingest is not news.
pub(crate) fn record_findings(conn: &Connection, delta: &FindingsDelta, now: i64) -> Result<usize, StoreError> {
    let mut by_advisory: BTreeMap<(&str, &str), FindingsEventDetail<'_>> = BTreeMap::new();
    for c in &delta.added {
        by_advisory.entry((&c.feed, &c.advisory_id)).or_default().added.push(c.into());
    }
    for c in &delta.resolved {
        by_advisory.entry((&c.feed, &c.advisory_id)).or_default().resolved.push(c.into());
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO notification_events (kind, feed, advisory_id, detail, created_at)
             VALUES ('findings', ?1, ?2, ?3, ?4)",
        )
        .map_err(sql("recording notification events"))?;
    for ((feed, advisory_id), detail) in &by_advisory {
        let detail = serde_json::to_string(detail).map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
        insert.execute(params![feed, advisory_id, detail, now]).map_err(sql("recording notification events"))?;
    }
    Ok(by_advisory.len())
}

/// Writes a `rebuild` event (the rebuild reached `status`) inside the caller's transaction.
pub(crate) fn record_rebuild(conn: &Connection, rebuild_id: i64, status: &str, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO notification_events (kind, rebuild_id, detail, created_at) VALUES ('rebuild', ?1, ?2, ?3)",
        params![rebuild_id, json!({ "status": status }).to_string(), now],
    )
    .map(|_| ())
    .map_err(sql("recording a rebuild event"))
}

/// Writes a `fix-installable` event for every advisory whose fix for (distro, release,
/// package, fixed version) some image is waiting for.
pub(crate) fn record_fix_installable(
    conn: &Connection,
    distro: &str,
    release: &str,
    package: &str,
    fixed_version: &str,
    available_version: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let doing = "recording a fix event";
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT f.feed, f.advisory_id FROM state_findings f
             JOIN package_states s ON s.id = f.state_id
             WHERE f.key_package = ?3 AND f.fixed_version = ?4 AND s.distro = ?1 AND s.release = ?2",
        )
        .map_err(sql(doing))?;
    let advisories: Vec<(String, String)> = stmt
        .query_map(params![distro, release, package, fixed_version], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql(doing))?
        .collect::<Result<_, _>>()
        .map_err(sql(doing))?;
    let detail = json!({
        "distro": distro, "release": release, "package": package,
        "fixed_version": fixed_version, "available_version": available_version,
    })
    .to_string();
    for (feed, advisory_id) in advisories {
        conn.execute(
            "INSERT INTO notification_events (kind, feed, advisory_id, detail, created_at)
             VALUES ('fix-installable', ?1, ?2, ?3, ?4)",
            params![feed, advisory_id, detail, now],
        )
        .map_err(sql(doing))?;
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "id, route, event_id, subject, kind, payload, status, n_attempts, next_attempt_at,
     created_at, delivered_at, last_error";

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxMessage> {
    Ok(OutboxMessage {
        id: r.get(0)?,
        route: r.get(1)?,
        event_id: r.get(2)?,
        subject: r.get(3)?,
        kind: r.get(4)?,
        payload: r.get(5)?,
        status: r.get(6)?,
        n_attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        created_at: r.get(9)?,
        delivered_at: r.get(10)?,
        last_error: r.get(11)?,
    })
}

impl Store {
    /// Events not yet routed, oldest first.
    pub fn unrouted_events(&self, limit: usize) -> Result<Vec<NotificationEvent>, StoreError> {
        let doing = "reading notification events";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, kind, feed, advisory_id, rebuild_id, detail, created_at FROM notification_events
                 WHERE routed_at IS NULL ORDER BY id LIMIT ?1",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let detail: String = r.get(5)?;
                Ok(NotificationEvent {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    feed: r.get(2)?,
                    advisory_id: r.get(3)?,
                    rebuild_id: r.get(4)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    created_at: r.get(6)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// The images a route has announced for a subject, or None when it announced nothing.
    pub fn announced_images(&self, route: &str, subject: &str) -> Result<Option<Vec<String>>, StoreError> {
        let images: Option<String> = self
            .conn
            .query_row(
                "SELECT images FROM announcements WHERE route = ?1 AND subject = ?2",
                params![route, subject],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("reading announcements"))?;
        Ok(images.map(|text| serde_json::from_str(&text).unwrap_or_default()))
    }

    /// Applies the routing of one event (or of none, for a digest flush) in one transaction:
    /// its messages enter the outbox, announcements and digest items are recorded, the given
    /// digest items are consumed, and the event is marked routed.
    pub fn apply_routing(
        &mut self,
        event_id: Option<i64>,
        routing: &Routing,
        consumed_digest_items: &[i64],
        now: i64,
    ) -> Result<(), StoreError> {
        let doing = "writing notifications to the outbox";
        let tx = self.conn.transaction().map_err(sql(doing))?;
        {
            let mut message = tx
                .prepare_cached(
                    "INSERT INTO outbox (route, event_id, subject, kind, payload, status, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
                )
                .map_err(sql(doing))?;
            for m in &routing.messages {
                message.execute(params![m.route, event_id, m.subject, m.kind, m.payload, now]).map_err(sql(doing))?;
            }
            let mut announce = tx
                .prepare_cached(
                    "INSERT INTO announcements (route, subject, images, announced_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (route, subject) DO UPDATE SET images = excluded.images",
                )
                .map_err(sql(doing))?;
            for (route, subject, images) in &routing.announcements {
                let images = serde_json::to_string(images).expect("strings serialize");
                announce.execute(params![route, subject, images, now]).map_err(sql(doing))?;
            }
            let mut hold = tx
                .prepare_cached(
                    "INSERT INTO digest_items (route, feed, advisory_id, detail, added_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql(doing))?;
            for (route, feed, advisory_id, detail) in &routing.digest_items {
                hold.execute(params![route, feed, advisory_id, detail.to_string(), super::unix_now_ms()])
                    .map_err(sql(doing))?;
            }
            let mut consume = tx.prepare_cached("DELETE FROM digest_items WHERE id = ?1").map_err(sql(doing))?;
            for id in consumed_digest_items {
                consume.execute([id]).map_err(sql(doing))?;
            }
        }
        if let Some(id) = event_id {
            tx.execute("UPDATE notification_events SET routed_at = ?2 WHERE id = ?1", params![id, now])
                .map_err(sql(doing))?;
        }
        tx.commit().map_err(sql(doing))
    }

    /// The findings a route holds for its digest, oldest first.
    pub fn digest_items(&self, route: &str) -> Result<Vec<DigestItem>, StoreError> {
        let doing = "reading digest items";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, feed, advisory_id, detail, added_at_ms FROM digest_items WHERE route = ?1 ORDER BY id",
            )
            .map_err(sql(doing))?;
        let rows = stmt
            .query_map([route], |r| {
                let detail: String = r.get(3)?;
                Ok(DigestItem {
                    id: r.get(0)?,
                    feed: r.get(1)?,
                    advisory_id: r.get(2)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    added_at_ms: r.get(4)?,
                })
            })
            .map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// The first pending message of each route (messages of a route go out in order).
    pub fn outbox_heads(&self) -> Result<Vec<OutboxMessage>, StoreError> {
        let doing = "reading the outbox";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id IN
                   (SELECT min(id) FROM outbox WHERE status = 'pending' GROUP BY route)
                 ORDER BY id"
            ))
            .map_err(sql(doing))?;
        let rows = stmt.query_map([], outbox_row).map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    pub fn mark_delivered(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?2, n_attempts = n_attempts + 1,
                                   last_error = NULL
                 WHERE id = ?1 AND status = 'pending'",
                params![id, now],
            )
            .map(|_| ())
            .map_err(sql("recording a delivery"))
    }

    /// A failed attempt: retried at `next_attempt_at`, or dead when that is None.
    pub fn mark_attempt_failed(&self, id: i64, error: &str, next_attempt_at: Option<i64>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET n_attempts = n_attempts + 1, last_error = ?2,
                                   status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END,
                                   next_attempt_at = coalesce(?3, next_attempt_at)
                 WHERE id = ?1 AND status = 'pending'",
                params![id, error, next_attempt_at],
            )
            .map(|_| ())
            .map_err(sql("recording a failed delivery"))
    }

    /// Outbox messages, newest first; `status` and `route` filter.
    pub fn outbox(
        &self,
        status: Option<&str>,
        route: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let doing = "listing the outbox";
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR route = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(sql(doing))?;
        let rows = stmt.query_map(params![status, route, limit as i64], outbox_row).map_err(sql(doing))?;
        rows.collect::<Result<_, _>>().map_err(sql(doing))
    }

    /// Puts dead messages (one, or all of them) back in line for delivery. Returns how many.
    pub fn retry_dead(&self, id: Option<i64>, now: i64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET status = 'pending', n_attempts = 0, next_attempt_at = ?2
                 WHERE status = 'dead' AND (?1 IS NULL OR id = ?1)",
                params![id, now],
            )
            .map_err(sql("retrying dead notifications"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::Status;

    fn change(image: &str, advisory: &str) -> FindingChange {
        FindingChange {
            image: image.into(),
            platform: "linux/amd64".into(),
            package: "libssl3".into(),
            version: "1".into(),
            source_name: "openssl".into(),
            feed: "debian-tracker".into(),
            advisory_id: advisory.into(),
            status: Status::Fixed,
            fixed_version: Some("2".into()),
        }
    }

    #[test]
    fn events_group_by_advisory_and_route_once() {
        let mut store = Store::open_in_memory().unwrap();
        let delta = FindingsDelta {
            added: vec![
                AddedFindings::new(change("a", "CVE-1"), 2),
                AddedFindings::new(change("b", "CVE-1"), 1),
                AddedFindings::new(change("a", "CVE-2"), 1),
            ],
            resolved: vec![change("c", "CVE-2")],
            rebaselined: false,
        };
        assert_eq!(record_findings(&store.conn, &delta, 10).unwrap(), 2);
        let rebaselined = FindingsDelta { rebaselined: true, ..FindingsDelta::default() };
        assert_eq!(record_findings(&store.conn, &rebaselined, 10).unwrap(), 0);
        let events = store.unrouted_events(10).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].advisory_id.as_deref(), Some("CVE-1"));
        assert_eq!(events[0].detail["added"].as_array().unwrap().len(), 2);
        assert_eq!(events[0].detail["added"][0]["n_images"], 2);
        assert_eq!(events[1].detail["resolved"][0]["image"], "c");

        let message = |route: &str, subject: &str| NewMessage {
            route: route.into(),
            subject: subject.into(),
            kind: "announcement".into(),
            payload: "{\"text\":\"x\"}".into(),
        };
        let routing = Routing {
            messages: vec![
                message("team", "advisory:debian-tracker/CVE-1"),
                message("siem", "advisory:debian-tracker/CVE-1"),
            ],
            announcements: vec![("team".into(), "advisory:debian-tracker/CVE-1".into(), vec!["a".into(), "b".into()])],
            digest_items: vec![],
        };
        store.apply_routing(Some(events[0].id), &routing, &[], 20).unwrap();
        store
            .apply_routing(
                Some(events[1].id),
                &Routing { messages: vec![message("team", "advisory:debian-tracker/CVE-2")], ..Routing::default() },
                &[],
                20,
            )
            .unwrap();
        assert!(store.unrouted_events(10).unwrap().is_empty());
        assert_eq!(
            store.announced_images("team", "advisory:debian-tracker/CVE-1").unwrap(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(store.announced_images("siem", "advisory:debian-tracker/CVE-1").unwrap(), None);

        // Heads: the first pending message of each route, in order.
        let heads = store.outbox_heads().unwrap();
        assert_eq!(heads.iter().map(|m| (m.route.as_str(), m.id)).collect::<Vec<_>>(), vec![("team", 1), ("siem", 2)]);
        store.mark_attempt_failed(1, "http 500", Some(30)).unwrap();
        store.mark_delivered(2, 25).unwrap();
        let heads = store.outbox_heads().unwrap();
        assert_eq!((heads.len(), heads[0].id, heads[0].next_attempt_at), (1, 1, 30), "team's head waits; siem is done");
        store.mark_attempt_failed(1, "http 404: channel_not_found", None).unwrap();
        assert_eq!(store.outbox_heads().unwrap()[0].id, 3, "a dead head no longer holds its route");
        assert_eq!(store.outbox(Some("dead"), None, 10).unwrap().len(), 1);
        assert_eq!(store.retry_dead(None, 40).unwrap(), 1);
        assert_eq!(store.outbox_heads().unwrap()[0].id, 1);
    }
}
