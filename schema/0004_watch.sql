-- 0004: watched tags, the image graph's declared bases, rebuild causes and requests, and
-- whether a fix is installable from the configured mirrors. Times are unix seconds.

-- What an image says it was built on: the OCI annotations (manifest) or labels (config)
-- org.opencontainers.image.base.name / .base.digest, when present.
ALTER TABLE images ADD COLUMN base_name TEXT;
ALTER TABLE images ADD COLUMN base_digest TEXT;

-- One row per watched reference (tag), as the config names it in canonical form.
CREATE TABLE watched_tags (
    reference      TEXT PRIMARY KEY,
    -- What the tag names now: an index digest for multi-platform images, else a manifest digest.
    digest         TEXT,
    -- When `digest` was first seen; the settle time counts from here.
    changed_at     INTEGER,
    -- The digest the stored inventory was read from; differs from `digest` until re-indexed.
    indexed_digest TEXT,
    polled_at      INTEGER,
    -- A registry event sets this to "now" so the next round polls the tag first.
    hinted_at      INTEGER,
    n_failures     INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);

-- The graph's last known parent of each image. Inference from layer prefixes stops working
-- the moment a parent is rebuilt (the child no longer starts with its layers), which is
-- exactly when the child must be found; the remembered edge finds it.
CREATE TABLE image_edges (
    child   TEXT    PRIMARY KEY,
    parent  TEXT    NOT NULL,
    source  TEXT    NOT NULL CHECK (source IN ('config', 'annotation', 'inferred')),
    seen_at INTEGER NOT NULL
);

-- Every rebuild request cascade made, with its outcome. Never deleted.
CREATE TABLE rebuilds (
    id                INTEGER PRIMARY KEY,
    image             TEXT    NOT NULL,
    parent            TEXT,
    old_parent_digest TEXT,
    new_parent_digest TEXT,
    -- The image's digest when the rebuild was requested, and the one that confirmed it.
    old_digest        TEXT,
    new_digest        TEXT,
    -- The trigger's description (kind and target); never a secret.
    trigger           TEXT    NOT NULL,
    status            TEXT    NOT NULL
                      CHECK (status IN ('pending', 'requested', 'confirmed', 'failed', 'timed-out')),
    n_attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    created_at        INTEGER NOT NULL,
    requested_at      INTEGER,
    finished_at       INTEGER,
    -- The receiver's last answer (status and detail such as a run URL), and the last error.
    response          TEXT,
    error             TEXT
);
CREATE INDEX rebuilds_by_image ON rebuilds (image, id);
CREATE INDEX rebuilds_open ON rebuilds (status) WHERE status IN ('pending', 'requested');

-- Why an image is rebuilt. The key makes a cause act once: a parent digest or an advisory
-- recorded for an image never triggers a second rebuild, across restarts too.
CREATE TABLE rebuild_causes (
    image       TEXT    NOT NULL,
    cause_key   TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('parent-digest-changed', 'advisory-fix-installable')),
    advisory_id TEXT,
    severity    TEXT,
    -- Parent digests for a parent change; package and versions for an advisory.
    detail      TEXT    NOT NULL,
    observed_at INTEGER NOT NULL,
    -- NULL while the cause waits (grace period, quiet hours, a parent still rebuilding).
    rebuild_id  INTEGER REFERENCES rebuilds (id),
    PRIMARY KEY (image, cause_key)
);
CREATE INDEX rebuild_causes_by_rebuild ON rebuild_causes (rebuild_id);

-- Whether the fixed version of a (distro, release, source package) is in the configured
-- package indexes, as last checked.
CREATE TABLE fix_availability (
    distro            TEXT    NOT NULL,
    release           TEXT    NOT NULL,
    package           TEXT    NOT NULL,
    fixed_version     TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('installable', 'not-yet', 'unknown')),
    available_version TEXT,
    reason            TEXT,
    checked_at        INTEGER NOT NULL,
    PRIMARY KEY (distro, release, package, fixed_version)
);
