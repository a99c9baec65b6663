//! Correlation end to end: images pushed to the real registry, advisories served by a local
//! feed server in the vendors' formats, `feeds sync` and `scan` by the real binary, and the
//! answers of the HTTP API and the CLI checked exactly.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::cli::{Server, Workspace};
use crate::support::image::*;
use crate::support::registry::{HttpStub, StubReply, TestRegistry};

/// Pushes an image; returns its reference.
fn push(registry: &TestRegistry, repo: &str, tag: &str, image: &TestImage) -> String {
    registry.push_image(repo, tag, image);
    format!("{}/{repo}:{tag}", registry.host())
}

fn debian_image(os_release: &str, packages: &[(&str, &str, Option<&str>)]) -> TestImage {
    let status: String = packages.iter().map(|(n, v, s)| dpkg_paragraph(n, v, "amd64", *s)).collect();
    TestImage::new(vec![LayerBuilder::new()
        .file("etc/os-release", os_release.as_bytes())
        .file("var/lib/dpkg/status", status.as_bytes())
        .build(Compression::Gzip)])
}

const BULLSEYE_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nID=debian\n";

/// The Debian tracker's JSON: openssl fixed in bookworm by CVE-2024-0001 (unless withdrawn),
/// zlib unfixed by CVE-2024-0009.
fn tracker(with_openssl: bool) -> String {
    let mut doc = json!({
        "zlib": {"CVE-2024-0009": {"description": "zlib issue", "scope": "local", "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}, "urgency": "low"}}}}
    });
    if with_openssl {
        doc["openssl"] = json!({"CVE-2024-0001": {"description": "openssl issue", "scope": "remote", "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.13-1~deb12u1"},
                         "fixed_version": "3.0.13-1~deb12u1", "urgency": "high"}}}});
    }
    doc.to_string()
}

/// Alpine secdb for v3.19 main: openssl (the origin of libcrypto3) fixed in 3.1.4-r5.
const SECDB: &str = r#"{"apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
  "archs": ["x86_64"], "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
  "distroversion": "v3.19",
  "packages": [{"pkg": {"name": "openssl", "secfixes": {"3.1.4-r5": ["CVE-2024-0002"], "0": ["CVE-2024-0099"]}}}]}"#;

/// A Red Hat CSAF advisory: openssl-libs fixed in 1:3.0.7-28.el9 on RHEL 9, and nodejs fixed
/// in the 20 stream only.
fn rhsa() -> String {
    let product = |id: &str, cpe: &str| {
        json!({"category": "product_name", "name": id,
               "product": {"name": id, "product_id": id, "product_identification_helper": {"cpe": cpe}}})
    };
    let component = |id: &str, purl: &str| {
        json!({"category": "product_version", "name": id,
               "product": {"name": id, "product_id": id, "product_identification_helper": {"purl": purl}}})
    };
    let rel = |component: &str, platform: &str| {
        json!({"category": "default_component_of",
               "full_product_name": {"name": format!("{component} as a component of {platform}"),
                                     "product_id": format!("{platform}:{component}")},
               "product_reference": component, "relates_to_product_reference": platform})
    };
    let fixed = [
        "BaseOS-9.4.0.Z.MAIN:openssl-libs-1:3.0.7-28.el9.x86_64",
        "AppStream-9.4.0.Z.MAIN:nodejs-1:20.11.1-1.module+el9.4.0+21000+abc.x86_64",
    ];
    json!({
        "document": {"category": "csaf_security_advisory", "title": "Red Hat Security Advisory: openssl",
                     "aggregate_severity": {"text": "Important"}, "tracking": {"id": "RHSA-2024:1234"}},
        "product_tree": {
            "branches": [{"category": "vendor", "name": "Red Hat", "branches": [
                product("BaseOS-9.4.0.Z.MAIN", "cpe:/o:redhat:enterprise_linux:9::baseos"),
                product("AppStream-9.4.0.Z.MAIN", "cpe:/a:redhat:enterprise_linux:9::appstream"),
                component("openssl-libs-1:3.0.7-28.el9.x86_64",
                          "pkg:rpm/redhat/openssl-libs@3.0.7-28.el9?arch=x86_64&epoch=1"),
                component("nodejs-1:20.11.1-1.module+el9.4.0+21000+abc.x86_64",
                          "pkg:rpm/redhat/nodejs@20.11.1-1.module%2Bel9.4.0%2B21000%2Babc?arch=x86_64&epoch=1&rpmmod=nodejs:20:9040020240101:abc"),
            ]}],
            "relationships": [
                rel("openssl-libs-1:3.0.7-28.el9.x86_64", "BaseOS-9.4.0.Z.MAIN"),
                rel("nodejs-1:20.11.1-1.module+el9.4.0+21000+abc.x86_64", "AppStream-9.4.0.Z.MAIN"),
            ]
        },
        "vulnerabilities": [{"cve": "CVE-2024-0003", "product_status": {"fixed": fixed},
            "remediations": [{"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2024:1234",
                              "product_ids": fixed}]}]
    })
    .to_string()
}

fn ubi_image() -> TestImage {
    let rpmdb = rpmdb_sqlite(&[
        RpmHeader {
            name: "openssl-libs",
            epoch: Some(1),
            version: "3.0.7",
            release: "27.el9",
            arch: "x86_64",
            source_rpm: Some("openssl-3.0.7-27.el9.src.rpm"),
            modularity_label: None,
        },
        RpmHeader {
            name: "nodejs",
            epoch: Some(1),
            version: "18.19.0",
            release: "1.module+el9.3.0+20839+e3b1a3d4",
            arch: "x86_64",
            source_rpm: Some("nodejs-18.19.0-1.module+el9.3.0+20839+e3b1a3d4.src.rpm"),
            modularity_label: Some("nodejs:18:9030020231120082734:rhel9"),
        },
    ]);
    TestImage::new(vec![LayerBuilder::new()
        .file("etc/os-release", UBI_OS_RELEASE.as_bytes())
        .file("usr/lib/sysimage/rpm/rpmdb.sqlite", &rpmdb)
        .build(Compression::Gzip)])
}

/// `(reference, [package names])` of an affected-images answer, sorted.
fn affected(server: &Server, advisory: &str) -> Vec<(String, Vec<String>)> {
    let body = server.json(&format!("/v1/advisories/{advisory}/affected-images"));
    let mut out: Vec<(String, Vec<String>)> = body["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| {
            let mut names: Vec<String> = i["packages"]
                .as_array()
                .expect("packages")
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names.dedup();
            (i["reference"].as_str().unwrap().to_string(), names)
        })
        .collect();
    out.sort();
    out
}

fn vulnerabilities(scan: &Value) -> Vec<String> {
    let mut out: Vec<String> = scan["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities")
        .iter()
        .map(|v| {
            format!(
                "{} {} {}",
                v["advisory_id"].as_str().unwrap(),
                v["package"].as_str().unwrap(),
                v["status"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn feeds_and_scans_answer_which_images_an_advisory_affects() {
    let registry = TestRegistry::start();
    let distroless = push(
        &registry,
        "org/distroless",
        "12",
        &debian_image(
            DEBIAN_OS_RELEASE,
            &[
                ("libssl3", "3.0.11-1~deb12u2", Some("openssl")),
                ("zlib1g", "1:1.2.13.dfsg-1", Some("zlib")),
                ("linux-libc-dev", "6.1.76-1", Some("linux")),
            ],
        ),
    );
    let patched = push(
        &registry,
        "org/patched",
        "12",
        &debian_image(DEBIAN_OS_RELEASE, &[("libssl3", "3.0.13-1~deb12u1", Some("openssl"))]),
    );
    let bullseye = push(
        &registry,
        "org/old",
        "11",
        &debian_image(BULLSEYE_OS_RELEASE, &[("libssl1.1", "1.1.1n-0+deb11u5", Some("openssl"))]),
    );
    let apk_db = [
        apk_paragraph("libcrypto3", "3.1.4-r1", "x86_64", "openssl"),
        apk_paragraph("musl", "1.2.4-r2", "x86_64", "musl"),
    ]
    .concat();
    let alpine = push(
        &registry,
        "org/alpine",
        "3.19",
        &TestImage::new(vec![LayerBuilder::new()
            .file("etc/os-release", ALPINE_OS_RELEASE.as_bytes())
            .file("lib/apk/db/installed", apk_db.as_bytes())
            .build(Compression::Gzip)]),
    );
    let ubi = push(&registry, "org/ubi", "9", &ubi_image());

    let with_openssl = Arc::new(Mutex::new(true));
    let feeds = {
        let with_openssl = Arc::clone(&with_openssl);
        HttpStub::start(move |req| match req.path() {
            "/tracker.json" => StubReply::new(200).body(tracker(*with_openssl.lock().unwrap())),
            "/v3.19/main.json" => StubReply::new(200).body(SECDB),
            "/rhsa-2024_1234.json" => StubReply::new(200).body(rhsa()),
            _ => StubReply::new(404),
        })
    };
    let ws = Workspace::new();
    ws.write_config(&format!(
        "[feeds.debian-tracker]\nurl = \"{0}/tracker.json\"\n\n\
         [feeds.alpine-test]\nurl = \"{0}/v3.19/main.json\"\nformat = \"alpine-secdb\"\ndistro = \"alpine\"\n\n\
         [feeds.redhat-test]\nurl = \"{0}/rhsa-2024_1234.json\"\nformat = \"redhat-csaf\"\ndistro = \"rhel\"\n",
        feeds.url()
    ));
    ws.ok(&["feeds", "sync", "debian-tracker", "alpine-test", "redhat-test"]);
    for image in [&distroless, &patched, &bullseye, &alpine, &ubi] {
        ws.ok(&["scan", image]);
    }

    // The CLI: the distroless image's findings (kernel headers are not matched by default).
    let scan = ws.scan_json(&[&distroless]);
    assert_eq!(scan["coverage"], "covered");
    assert_eq!(vulnerabilities(&scan), ["CVE-2024-0001 libssl3 fixed", "CVE-2024-0009 zlib1g unfixed"]);
    let fixable = ws.scan_json(&["--fixable-only", &distroless]);
    assert_eq!(vulnerabilities(&fixable), ["CVE-2024-0001 libssl3 fixed"]);
    let high = ws.scan_json(&["--severity", "high", &distroless]);
    assert_eq!(vulnerabilities(&high), ["CVE-2024-0001 libssl3 fixed"]);
    let old = ws.scan_json(&[&bullseye]);
    assert_eq!(old["coverage"], "uncovered", "no feed covers Debian 11 here: unchecked, not clean");
    assert_eq!(vulnerabilities(&old), Vec::<String>::new());
    let sarif: Value =
        serde_json::from_str(&ws.ok(&["scan", "--format", "sarif", &distroless])).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let rules: Vec<&str> = results.iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert_eq!(rules, ["CVE-2024-0001", "CVE-2024-0009"]);
    assert_eq!(results[0]["level"], "error", "high severity is an error");
    let bom: Value =
        serde_json::from_str(&ws.ok(&["scan", "--format", "cyclonedx", &distroless])).expect("CycloneDX is JSON");
    assert_eq!((bom["bomFormat"].as_str(), bom["specVersion"].as_str()), (Some("CycloneDX"), Some("1.5")));
    assert_eq!(bom["components"].as_array().unwrap().len(), 3);
    let vuln = &bom["vulnerabilities"][0];
    assert_eq!(vuln["id"], "CVE-2024-0001");
    let libssl = vuln["affects"][0]["ref"].as_str().unwrap();
    assert!(libssl.starts_with("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"), "{libssl}");
    let text = ws.ok(&["affected", "CVE-2024-0003"]);
    assert!(text.contains(&ubi) && text.contains("openssl-libs"), "{text}");

    let server = ws.serve(&["--no-sync"], &[]);
    // Debian: a source advisory (openssl) finds an image that only has the binary libssl3;
    // the patched image and the bullseye image are not affected.
    assert_eq!(affected(&server, "CVE-2024-0001"), [(distroless.clone(), vec!["libssl3".to_string()])]);
    // Alpine: the origin (openssl) finds libcrypto3; fixed version `0` means not affected.
    assert_eq!(affected(&server, "CVE-2024-0002"), [(alpine.clone(), vec!["libcrypto3".to_string()])]);
    let (status, _) = server.get("/v1/advisories/CVE-2024-0099/affected-images", None);
    assert!(status == 200 || status == 404, "{status}");
    if status == 200 {
        assert_eq!(affected(&server, "CVE-2024-0099"), []);
    }
    // Red Hat: the binary openssl-libs by its EVR; the nodejs fix is for stream 20, the image
    // has stream 18. By the RHSA id and by its CVE alias.
    assert_eq!(affected(&server, "RHSA-2024:1234"), [(ubi.clone(), vec!["openssl-libs".to_string()])]);
    assert_eq!(affected(&server, "CVE-2024-0003"), [(ubi.clone(), vec!["openssl-libs".to_string()])]);
    let uncovered = server.json(&format!("/v1/images/{}/vulnerabilities", encode(&bullseye)));
    assert_eq!(uncovered["covered"], false, "{uncovered}");

    // The tracker withdraws CVE-2024-0001: its findings go, the others stay.
    *with_openssl.lock().unwrap() = false;
    ws.ok(&["feeds", "sync", "debian-tracker"]);
    let (status, body) = server.get("/v1/advisories/CVE-2024-0001/affected-images", None);
    assert!(status == 404 || (status == 200 && affected(&server, "CVE-2024-0001").is_empty()), "{status} {body}");
    let findings = server.json(&format!("/v1/findings?image={}", encode(&distroless)));
    let ids: Vec<&str> =
        findings["items"].as_array().unwrap().iter().map(|f| f["advisory_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CVE-2024-0009"], "{findings}");
    assert_eq!(affected(&server, "CVE-2024-0002"), [(alpine, vec!["libcrypto3".to_string()])]);
}

/// Percent-encodes a reference for a path segment.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
