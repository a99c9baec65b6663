-- 0002: advisory feeds, their health, advisories, affected entries and change sets.

-- One row per feed ever synced (by name), with its health and conditional-GET validators.
CREATE TABLE feeds (
    name             TEXT PRIMARY KEY,
    format           TEXT NOT NULL,
    -- 'mail' for mailing lists: their entries are early signals, linked to feed entries.
    source           TEXT NOT NULL DEFAULT 'feed' CHECK (source IN ('feed', 'mail')),
    url              TEXT,
    last_attempt     TEXT,
    last_success     TEXT,
    last_error       TEXT,
    etag             TEXT,
    last_modified    TEXT,
    n_advisories     INTEGER NOT NULL DEFAULT 0,
    n_affected       INTEGER NOT NULL DEFAULT 0
);

-- One row per successful ingest; change-set rows point here.
CREATE TABLE ingests (
    id            INTEGER PRIMARY KEY,
    feed          TEXT    NOT NULL,
    document_url  TEXT,
    fetched_at    TEXT    NOT NULL,
    n_advisories  INTEGER NOT NULL,
    n_added       INTEGER NOT NULL,
    n_changed     INTEGER NOT NULL,
    n_withdrawn   INTEGER NOT NULL
);

-- Advisory metadata as each feed states it (the same id may come from several feeds).
CREATE TABLE advisories (
    id           TEXT NOT NULL,
    feed         TEXT NOT NULL,
    title        TEXT,
    severity     TEXT,
    published    TEXT,
    modified     TEXT,
    url          TEXT,
    -- Provenance: the ingest (document URL, fetch time) in which this content (metadata and
    -- aliases) was first seen.
    ingest_id    INTEGER NOT NULL REFERENCES ingests (id),
    -- Hash of the content, so that an unchanged advisory is not rewritten on every ingest.
    content_hash INTEGER NOT NULL
);
-- A plain index rather than a clustered key: rows are appended, only the index takes the
-- random inserts (and a first ingest rebuilds it from sorted rows).
CREATE UNIQUE INDEX advisories_by_id ON advisories (feed, id);

-- The other identifiers of an advisory (a DSA's CVEs, a CVE's DSA), to link entries across
-- feeds and to find an advisory by any of its names.
CREATE TABLE advisory_aliases (
    feed        TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    alias       TEXT NOT NULL,
    PRIMARY KEY (feed, advisory_id, alias)
) WITHOUT ROWID;
CREATE INDEX advisory_aliases_by_alias ON advisory_aliases (alias);

-- What an advisory says about one package in one release. `added_in`/`changed_in` are the
-- ingests that added the entry and last changed its status or fixed version. `linked_to`
-- is set on an entry that came from mail once a feed carries the same issue and package: the
-- feed's entry then stands for both.
CREATE TABLE affected (
    id            INTEGER PRIMARY KEY,
    feed          TEXT    NOT NULL,
    advisory_id   TEXT    NOT NULL,
    distro        TEXT    NOT NULL,
    release       TEXT    NOT NULL,
    package       TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('source', 'binary')),
    status        TEXT    NOT NULL,
    fixed_version TEXT,
    scheme        TEXT    NOT NULL CHECK (scheme IN ('dpkg', 'apk', 'rpm')),
    module        TEXT,
    added_in      INTEGER NOT NULL,
    changed_in    INTEGER,
    linked_to     INTEGER
);
CREATE INDEX affected_by_advisory ON affected (advisory_id);
CREATE INDEX affected_by_package ON affected (distro, release, package);

-- Changed and withdrawn entries of each ingest, with the values before the change (added
-- entries are the rows whose added_in is the ingest).
CREATE TABLE affected_changes (
    ingest_id     INTEGER NOT NULL REFERENCES ingests (id) ON DELETE CASCADE,
    change        TEXT    NOT NULL CHECK (change IN ('changed', 'withdrawn')),
    advisory_id   TEXT    NOT NULL,
    distro        TEXT    NOT NULL,
    release       TEXT    NOT NULL,
    package       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    module        TEXT,
    old_status    TEXT    NOT NULL,
    old_fixed     TEXT,
    new_status    TEXT,
    new_fixed     TEXT
);
CREATE INDEX affected_changes_by_ingest ON affected_changes (ingest_id);
