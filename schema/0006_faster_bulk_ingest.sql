-- 0006: cheaper first ingests and release coverage without a search.

-- affected_by_package leads with the package: every lookup names all three columns, and an
-- index whose first column is nearly unique is sorted about twice as fast when a first ingest
-- of a large feed builds it (the old order compared 'debian' and '12' in almost every step).
DROP INDEX affected_by_package;
CREATE INDEX affected_by_package ON affected (package, release, distro);

-- The (distro, release) pairs that feeds hold entries for, with how many: every ingest keeps
-- the counts, so "is this image's release covered by any feed" is one lookup. (The old answer
-- searched affected by (distro, release), which the index above no longer serves.)
CREATE TABLE affected_releases (
    distro    TEXT    NOT NULL,
    release   TEXT    NOT NULL,
    n_entries INTEGER NOT NULL,
    PRIMARY KEY (distro, release)
) WITHOUT ROWID;
INSERT INTO affected_releases (distro, release, n_entries)
    SELECT distro, release, count(*) FROM affected GROUP BY distro, release;
