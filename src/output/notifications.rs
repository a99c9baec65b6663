//! Rendering of the notification outbox (`cascade notify list`, `GET /v1/notifications`):
//! route names and message bodies, never a webhook URL (routes name the secret, the outbox
//! never holds it).

use serde::Serialize;

use super::table;
use crate::clock::rfc3339_from_unix;
use crate::store::notifications::OutboxMessage;

#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub id: i64,
    pub route: String,
    pub subject: String,
    pub kind: String,
    pub status: String,
    pub n_attempts: i64,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// For pending messages: when the next attempt is due.
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    /// The exact body sent (Slack Block Kit, or the webhook notice).
    pub payload: serde_json::Value,
}

impl From<&OutboxMessage> for NotificationView {
    fn from(m: &OutboxMessage) -> NotificationView {
        NotificationView {
            id: m.id,
            route: m.route.clone(),
            subject: m.subject.clone(),
            kind: m.kind.clone(),
            status: m.status.clone(),
            n_attempts: m.n_attempts,
            created_at: rfc3339_from_unix(m.created_at),
            delivered_at: m.delivered_at.map(rfc3339_from_unix),
            next_attempt_at: (m.status == "pending").then(|| rfc3339_from_unix(m.next_attempt_at)),
            last_error: m.last_error.clone(),
            payload: serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

pub fn outbox_table(messages: &[OutboxMessage]) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 7]> = messages
        .iter()
        .map(|m| {
            [
                m.id.to_string(),
                m.route.clone(),
                m.kind.clone(),
                m.subject.clone(),
                m.status.clone(),
                m.n_attempts.to_string(),
                m.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(&mut out, ["ID", "ROUTE", "KIND", "SUBJECT", "STATUS", "ATTEMPTS", "LAST ERROR"], &rows);
    out
}

pub fn outbox_json(messages: &[OutboxMessage]) -> String {
    let views: Vec<NotificationView> = messages.iter().map(NotificationView::from).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "items": views })).expect("notification views serialize") + "\n"
}
