-- 0003: package states, findings (which installed package an advisory entry affects) and
-- store settings.

-- The distinct package states of a release: what matching looks at. Images built on the same
-- base share most of them, so correlation works per state (tens of thousands) rather than per
-- installed package (millions), and a finding is stored once per state.
CREATE TABLE package_states (
    id             INTEGER PRIMARY KEY,
    distro         TEXT NOT NULL,
    release        TEXT NOT NULL,
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    source_version TEXT NOT NULL,
    ecosystem      TEXT NOT NULL CHECK (ecosystem IN ('dpkg', 'apk', 'rpm')),
    -- '' when the package is in no module (so that the unique key holds).
    module         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX package_states_by_value
    ON package_states (distro, release, name, version, source_name, source_version, ecosystem, module);
CREATE INDEX package_states_by_source ON package_states (source_name);
CREATE INDEX package_states_by_name ON package_states (name);

-- Packages get a stable integer key (implicit rowids may be renumbered by VACUUM) and point
-- at their state.
CREATE TABLE packages_v3 (
    id             INTEGER PRIMARY KEY,
    image_id       INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    state_id       INTEGER NOT NULL REFERENCES package_states (id),
    name           TEXT NOT NULL,
    version        TEXT NOT NULL,
    arch           TEXT NOT NULL,
    source_name    TEXT NOT NULL,
    source_version TEXT NOT NULL,
    ecosystem      TEXT NOT NULL CHECK (ecosystem IN ('dpkg', 'apk', 'rpm')),
    module         TEXT,
    layer_digest   TEXT NOT NULL
);
INSERT OR IGNORE INTO package_states (distro, release, name, version, source_name, source_version, ecosystem, module)
    SELECT coalesce(i.distro, ''), coalesce(i.release, ''), p.name, p.version, p.source_name, p.source_version,
           p.ecosystem, coalesce(p.module, '')
    FROM packages p JOIN images i ON i.id = p.image_id;
INSERT INTO packages_v3 (image_id, state_id, name, version, arch, source_name, source_version, ecosystem, module,
                         layer_digest)
    SELECT p.image_id, s.id, p.name, p.version, p.arch, p.source_name, p.source_version, p.ecosystem, p.module,
           p.layer_digest
    FROM packages p JOIN images i ON i.id = p.image_id
    JOIN package_states s ON s.distro = coalesce(i.distro, '') AND s.release = coalesce(i.release, '')
        AND s.name = p.name AND s.version = p.version AND s.source_name = p.source_name
        AND s.source_version = p.source_version AND s.ecosystem = p.ecosystem AND s.module = coalesce(p.module, '')
    ORDER BY p.image_id, p.rowid;
DROP TABLE packages;
ALTER TABLE packages_v3 RENAME TO packages;
CREATE INDEX packages_by_image ON packages (image_id);
-- (state_id, image_id): which images hold a state, answered from the index alone.
CREATE INDEX packages_by_state ON packages (state_id, image_id);
CREATE INDEX packages_by_source ON packages (source_name);
CREATE INDEX packages_by_name ON packages (name);

-- One row per (package state, affected entry) where the entry says the state is affected.
-- Status and fixed version are copied from the entry when the finding is computed; findings
-- are recomputed in the same transaction as any change to the entries or the images, so the
-- copy never goes stale (and a withdrawn entry's findings can still be reported as resolved).
-- `key_package` is the entry's package name (source or binary), by which an advisory change
-- set finds the findings to re-evaluate. (No foreign key: checking one per inserted row
-- would double the cost of a rebuild; states are removed with their findings in code.)
CREATE TABLE state_findings (
    state_id      INTEGER NOT NULL,
    affected_id   INTEGER NOT NULL,
    feed          TEXT    NOT NULL,
    advisory_id   TEXT    NOT NULL,
    key_package   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    fixed_version TEXT,
    PRIMARY KEY (state_id, affected_id)
) WITHOUT ROWID;
CREATE INDEX state_findings_by_advisory ON state_findings (advisory_id);
CREATE INDEX state_findings_by_key ON state_findings (key_package);

-- Findings as people see them: one row per installed package (in an image) and entry.
CREATE VIEW findings AS
    SELECT p.id AS package_id, f.affected_id, p.image_id, f.feed, f.advisory_id, f.key_package, f.status,
           f.fixed_version
    FROM state_findings f JOIN packages p ON p.state_id = f.state_id;

-- The releases images are on: which advisory keys correlation needs to look at.
CREATE INDEX images_by_release ON images (distro, release);

-- Small store-wide settings, such as the matching policy the findings were computed with
-- (a different policy at start-up triggers a full rebuild).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
