//! Mail import against the real messages in `$CASCADE_SHARED_DATA/feeds/debian-announce-email`:
//! the file is read through `messages_from_path` (the IO edge) and parsed with `parse_message`.
//! Reads the shared data only; never writes to it, and skips (with a message) when the variable
//! is unset.

use std::path::PathBuf;

use cascade::advisories::{PackageKind, Status};
use cascade::inventory::Ecosystem;
use cascade::mail::{messages_from_path, parse_message};

use crate::support;

const SAMPLE: &str = "feeds/debian-announce-email/oss-security_FW_DSA-3775-1_tcpdump.eml";

fn sample() -> Option<PathBuf> {
    let path = support::shared_data(SAMPLE);
    if path.is_none() {
        eprintln!("skipped: CASCADE_SHARED_DATA is not set, so {SAMPLE} is not available");
    }
    path
}

/// The 41 CVE ids of the `CVE ID` field of DSA-3775-1, in the order the advisory lists them.
const DSA_3775_CVES: &str = "CVE-2016-7922 CVE-2016-7923 CVE-2016-7924 CVE-2016-7925 CVE-2016-7926 CVE-2016-7927 \
    CVE-2016-7928 CVE-2016-7929 CVE-2016-7930 CVE-2016-7931 CVE-2016-7932 CVE-2016-7933 CVE-2016-7934 CVE-2016-7935 \
    CVE-2016-7936 CVE-2016-7937 CVE-2016-7938 CVE-2016-7939 CVE-2016-7940 CVE-2016-7973 CVE-2016-7974 CVE-2016-7975 \
    CVE-2016-7983 CVE-2016-7984 CVE-2016-7985 CVE-2016-7986 CVE-2016-7992 CVE-2016-7993 CVE-2016-8574 CVE-2016-8575 \
    CVE-2017-5202 CVE-2017-5203 CVE-2017-5204 CVE-2017-5205 CVE-2017-5341 CVE-2017-5342 CVE-2017-5482 CVE-2017-5483 \
    CVE-2017-5484 CVE-2017-5485 CVE-2017-5486";

#[test]
fn forwarded_dsa_3775_1_tcpdump() {
    let Some(path) = sample() else { return };
    let messages = messages_from_path(&path).expect("read the sample");
    assert_eq!(messages.len(), 1, "a single .eml file is one message");
    assert_eq!(messages[0].0, "oss-security_FW_DSA-3775-1_tcpdump.eml");

    let found = parse_message(&messages[0].1).unwrap_or_else(|skip| panic!("skipped: {}", skip.reason));
    assert_eq!(found.message_id.as_deref(), Some("20170130012137.GA20854@jasmine"));
    assert_eq!(found.subject, "[oss-security] FW: [DSA 3775-1] tcpdump security update]");
    assert_eq!(found.advisories.len(), 1);

    let dsa = &found.advisories[0];
    assert_eq!(dsa.id, "DSA-3775-1");
    assert_eq!(dsa.title.as_deref(), Some("tcpdump security update"));
    assert_eq!(dsa.url.as_deref(), Some("https://www.debian.org/security/2017/dsa-3775"));
    assert_eq!(dsa.published.as_deref(), Some("2017-01-29"));
    let expected_cves: Vec<&str> = DSA_3775_CVES.split_whitespace().collect();
    assert_eq!(dsa.aliases, expected_cves);

    let rows: Vec<(&str, &str, &str, Option<&str>)> = dsa
        .affected
        .iter()
        .map(|a| (a.distro.as_str(), a.release.as_str(), a.package.as_str(), a.fixed_version.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("debian", "8", "tcpdump", Some("4.9.0-1~deb8u1")),
            ("debian", "9", "tcpdump", Some("4.9.0-1")),
            ("debian", "sid", "tcpdump", Some("4.9.0-1")),
        ]
    );
    for a in &dsa.affected {
        assert_eq!((a.kind, a.status, a.scheme), (PackageKind::Source, Status::Fixed, Ecosystem::Dpkg));
    }
}

#[test]
fn sample_inside_an_mbox_and_a_gzip_archive() {
    let Some(path) = sample() else { return };
    let eml = std::fs::read(&path).expect("read the sample");
    let dir = tempfile::tempdir().expect("tempdir");

    // An mbox holding a plain note and the sample; a body line starting with "From " is escaped.
    let mut mbox = b"From someone@example.org Mon Jan 30 09:00:00 2017\nSubject: hello\n\n>From the list.\n\n".to_vec();
    mbox.extend_from_slice(b"From leo@famulari.name Mon Jan 30 09:44:31 2017\n");
    mbox.extend_from_slice(&eml);
    let mbox_path = dir.path().join("oss.mbox");
    std::fs::write(&mbox_path, &mbox).expect("write mbox");

    let messages = messages_from_path(&mbox_path).expect("read mbox");
    let labels: Vec<&str> = messages.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["oss.mbox#1", "oss.mbox#2"]);
    let first = parse_message(&messages[0].1).expect_err("a note is not an advisory");
    assert!(first.reason.starts_with("not an advisory"), "{}", first.reason);
    let second = parse_message(&messages[1].1).unwrap_or_else(|skip| panic!("skipped: {}", skip.reason));
    assert_eq!(second.advisories[0].id, "DSA-3775-1");

    let gz_path = dir.path().join("2017-January.txt.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &mbox).expect("gzip");
    std::fs::write(&gz_path, encoder.finish().expect("gzip")).expect("write archive");
    let messages = messages_from_path(&gz_path).expect("read archive");
    assert_eq!(messages.len(), 2);
    assert_eq!(parse_message(&messages[1].1).map(|m| m.advisories[0].id.clone()).ok().as_deref(), Some("DSA-3775-1"));
}
