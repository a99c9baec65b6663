-- 0001: layer cache, image config cache, image inventories.

-- One row per layer read by a given extractor version: what the layer contributes to the
-- files that matter. A layer is stored only after its whole blob matched its digest.
CREATE TABLE layer_extracts (
    digest            TEXT    NOT NULL,
    extractor_version INTEGER NOT NULL,
    n_entries         INTEGER NOT NULL,
    n_bytes           INTEGER NOT NULL,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (digest, extractor_version)
);

CREATE TABLE layer_entries (
    digest            TEXT    NOT NULL,
    extractor_version INTEGER NOT NULL,
    seq               INTEGER NOT NULL,
    path              TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('file', 'dir', 'symlink', 'hardlink', 'whiteout', 'opaque')),
    target            TEXT,
    content           BLOB,
    PRIMARY KEY (digest, extractor_version, seq),
    FOREIGN KEY (digest, extractor_version) REFERENCES layer_extracts (digest, extractor_version) ON DELETE CASCADE
);

-- Image configs by digest (verified before insert), so a warm scan reads no blob.
CREATE TABLE config_blobs (
    digest  TEXT PRIMARY KEY,
    content BLOB NOT NULL
);

-- The latest inventory of each (reference, platform).
CREATE TABLE images (
    id              INTEGER PRIMARY KEY,
    reference       TEXT NOT NULL,
    platform        TEXT NOT NULL,
    index_digest    TEXT,
    manifest_digest TEXT NOT NULL,
    config_digest   TEXT NOT NULL,
    distro          TEXT,
    release         TEXT,
    codename        TEXT,
    os_name         TEXT,
    scanned_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (reference, platform)
);

CREATE TABLE image_layers (
    image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    digest     TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    PRIMARY KEY (image_id, position)
);

CREATE TABLE packages (
    image_id       INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    arch           TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    source_version TEXT NOT NULL,
    ecosystem      TEXT NOT NULL CHECK (ecosystem IN ('dpkg', 'apk', 'rpm')),
    module         TEXT,
    layer_digest   TEXT NOT NULL
);
CREATE INDEX packages_by_image ON packages (image_id);
CREATE INDEX packages_by_source ON packages (source_name);
CREATE INDEX packages_by_name ON packages (name);
