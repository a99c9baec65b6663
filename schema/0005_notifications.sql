-- 0005: notifications. Events are written in the same transaction as the change that causes
-- them (an ingest's or a scan's findings, a rebuild's progress); the router turns each event
-- into messages per route in one transaction; the sender delivers the outbox. Times are unix
-- seconds.

CREATE TABLE notification_events (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('findings', 'rebuild', 'fix-installable')),
    -- kind findings and fix-installable: the advisory.
    feed        TEXT,
    advisory_id TEXT,
    -- kind rebuild: the rebuild and the status it reached.
    rebuild_id  INTEGER,
    -- JSON: the findings added and resolved, or the rebuild's status.
    detail      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- Set in the transaction that wrote the event's messages.
    routed_at   INTEGER
);
CREATE INDEX notification_events_unrouted ON notification_events (id) WHERE routed_at IS NULL;

-- One message for one route, with the exact body to send.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    route           TEXT    NOT NULL,
    event_id        INTEGER,
    -- `advisory:FEED/ID`, `rebuild:ID` or `digest:ROUTE`: what the message is about.
    subject         TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('announcement', 'new-images', 'resolved',
                                                     'fix-installable', 'rebuild', 'digest')),
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    n_attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (route, id) WHERE status = 'pending';

-- What each route has been told about each advisory: the first message announces, later
-- ones only follow up (new images, resolved, fix installable).
CREATE TABLE announcements (
    route        TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    -- JSON list of the image references announced so far.
    images       TEXT    NOT NULL,
    announced_at INTEGER NOT NULL,
    PRIMARY KEY (route, subject)
);

-- Findings held for a route's digest message.
CREATE TABLE digest_items (
    id          INTEGER PRIMARY KEY,
    route       TEXT    NOT NULL,
    feed        TEXT    NOT NULL,
    advisory_id TEXT    NOT NULL,
    -- JSON: severity, images, packages, fixable.
    detail      TEXT    NOT NULL,
    -- Unix milliseconds: digest periods may be short.
    added_at_ms INTEGER NOT NULL
);
CREATE INDEX digest_items_by_route ON digest_items (route, added_at_ms);
