//! Version comparison at its boundaries: every vector of `$CASCADE_SHARED_DATA/versions/*.tsv`
//! in both directions, generated pairs against the real `dpkg --compare-versions` and rpm's Lua
//! `rpm.vercmp`, and total-order checks (antisymmetry, transitivity) on generated sets. Must not
//! write into the shared data; the rpm Lua chunk goes to a temp dir.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::process::Command;

use cascade::versions::{apk, dpkg, rpm};

use crate::support::shared_data;

type Comparator = fn(&str, &str) -> Ordering;

/// Mismatches listed in a failure message; the count is always given in full.
const SHOWN_MISMATCHES: usize = 40;
/// Generated pairs per oracle.
const N_PAIRS: usize = 1600;
/// Fixed seed: the generated versions are the same on every run.
const SEED: u64 = 0x5EED_CA5C_ADE0_0001;

// ---------------------------------------------------------------------------------------------
// Vectors

/// One vector: `(line, a, b, expected)`.
type Vector = (usize, String, String, Ordering);

/// The vectors of `versions/<file>`, or None when CASCADE_SHARED_DATA is unset.
fn read_vectors(file: &str) -> Option<Vec<Vector>> {
    let path = shared_data(&format!("versions/{file}"))?;
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l);
    assert_eq!(header, Some("a\tb\texpected"), "{}: header", path.display());
    let vectors = lines
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split('\t').collect();
            let expected = match fields.get(2) {
                Some(&"-1") => Ordering::Less,
                Some(&"0") => Ordering::Equal,
                Some(&"1") => Ordering::Greater,
                _ => panic!("{}:{}: malformed line {l:?}", path.display(), i + 1),
            };
            assert_eq!(fields.len(), 3, "{}:{}: malformed line {l:?}", path.display(), i + 1);
            (i + 1, fields[0].to_owned(), fields[1].to_owned(), expected)
        })
        .collect();
    Some(vectors)
}

fn sign(ord: Ordering) -> i8 {
    ord as i8
}

/// Every vector of `file` holds in both directions, and the file has the `n_vectors` vectors
/// its README announces. All mismatches are reported at once.
fn check_vectors(file: &str, compare: Comparator, n_vectors: usize) {
    let Some(vectors) = read_vectors(file) else {
        eprintln!("CASCADE_SHARED_DATA is unset; skipping the {file} vectors");
        return;
    };
    let mut mismatches = Vec::new();
    for (line, a, b, expected) in &vectors {
        let (forward, backward) = (compare(a, b), compare(b, a));
        if forward != *expected || backward != expected.reverse() {
            mismatches.push(format!(
                "  {file}:{line}: {a:?} vs {b:?}: expected {}, got {} (reversed: {})",
                sign(*expected),
                sign(forward),
                sign(backward)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} vectors in {file} fail:\n{}",
        mismatches.len(),
        vectors.len(),
        mismatches.join("\n")
    );
    assert_eq!(vectors.len(), n_vectors, "{file}: vector count differs from the README's");
}

#[test]
fn dpkg_vectors() {
    check_vectors("dpkg.tsv", dpkg::compare, 172);
}

#[test]
fn rpm_vectors() {
    check_vectors("rpm.tsv", rpm::compare, 282);
}

#[test]
fn rpm_matrix_vectors() {
    check_vectors("rpm_matrix.tsv", rpm::compare, 4350);
}

#[test]
fn apk_vectors() {
    check_vectors("apk.tsv", apk::compare, 711);
}

#[test]
fn apk_v3_only_vectors() {
    check_vectors("apk_v3_only.tsv", apk::compare, 5);
}

/// The distinct version strings of some vector files (empty when the data is absent).
fn vector_strings(files: &[&str]) -> Vec<String> {
    let mut strings = BTreeSet::new();
    for file in files {
        for (_, a, b, _) in read_vectors(file).unwrap_or_default() {
            strings.insert(a);
            strings.insert(b);
        }
    }
    strings.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Generators

/// splitmix64: small, fast, and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A number as packagers write them: mostly small, sometimes with leading zeros or long.
    fn number(&mut self) -> String {
        match self.below(10) {
            0..=5 => self.below(12).to_string(),
            6 => format!("0{}", self.below(10)),
            7 => format!("00{}", self.below(100)),
            8 => self.below(1000).to_string(),
            _ => format!("2023{:02}{:02}", 1 + self.below(12), 1 + self.below(28)),
        }
    }

    /// Optionally a number.
    fn maybe_number(&mut self) -> String {
        if self.chance(60) {
            self.number()
        } else {
            String::new()
        }
    }
}

/// A realistic Debian/Ubuntu version, valid for dpkg (no warnings, no errors).
fn debian_version(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(20) {
        v.push_str(rng.pick(&["0", "1", "2", "3", "10", "01"]));
        v.push(':');
    }
    let has_revision = rng.chance(75);
    v.push_str(&rng.number());
    for _ in 0..rng.below(5) {
        match rng.below(12) {
            0..=4 => write!(v, ".{}", rng.number()).unwrap(),
            5 => write!(v, "~{}{}", rng.pick(&["rc", "beta", "alpha", "pre", "", "~", "dfsg"]), rng.maybe_number())
                .unwrap(),
            6 => {
                write!(v, "+{}{}", rng.pick(&["dfsg", "ds", "really", "git", "repack", "b", "nmu"]), rng.maybe_number())
                    .unwrap()
            }
            7 => v.push_str(rng.pick(&["a", "b", "p", "z", "rc", "beta"])),
            8 => write!(v, "+{}", rng.number()).unwrap(),
            9 if has_revision => write!(v, "-{}", rng.pick(&["rc1", "beta", "1", "git"])).unwrap(),
            _ => write!(v, ".{}", rng.number()).unwrap(),
        }
    }
    if has_revision {
        write!(v, "-{}", rng.number()).unwrap();
        for _ in 0..rng.below(3) {
            let n = rng.number();
            match rng.below(10) {
                0 => write!(v, "+deb{}u{n}", 10 + rng.below(4)).unwrap(),
                1 => write!(v, "~deb{}u{n}", 10 + rng.below(4)).unwrap(),
                2 => write!(v, "~bpo{}+{n}", 10 + rng.below(4)).unwrap(),
                3 => write!(v, "ubuntu{n}").unwrap(),
                4 => write!(v, "build{n}").unwrap(),
                5 => write!(v, "ubuntu0.{}.04.{n}", 20 + rng.below(5)).unwrap(),
                6 => write!(v, "+b{n}").unwrap(),
                7 => write!(v, ".{n}").unwrap(),
                8 => write!(v, "{}esm{n}", rng.pick(&["+", "~"])).unwrap(),
                _ => write!(v, "~{}", rng.pick(&["rc", "exp", ""])).unwrap(),
            }
        }
    }
    v
}

/// A realistic RPM EVR: epochs, `~`, `^`, dist tags, letters, leading zeros.
fn rpm_evr(rng: &mut Rng) -> String {
    let mut v = String::new();
    if rng.chance(25) {
        v.push_str(rng.pick(&["0", "1", "2", "3", "10", "01", ""]));
        v.push(':');
    }
    v.push_str(&rng.number());
    for _ in 0..rng.below(5) {
        match rng.below(12) {
            0..=4 => write!(v, ".{}", rng.number()).unwrap(),
            5 => write!(v, "~{}{}", rng.pick(&["rc", "beta", "pre", "", "~"]), rng.maybe_number()).unwrap(),
            6 => write!(v, "^{}{}", rng.pick(&["git", "", "post", "20230101git"]), rng.maybe_number()).unwrap(),
            7 => v.push_str(rng.pick(&["a", "b", "p", "rc", "git", "Z"])),
            8 => write!(v, "_{}", rng.number()).unwrap(),
            9 => write!(v, "+{}", rng.pick(&["git", "svn", "1", "b"])).unwrap(),
            _ => write!(v, ".{}", rng.number()).unwrap(),
        }
    }
    if rng.chance(88) {
        write!(v, "-{}", rng.number()).unwrap();
        for _ in 0..rng.below(3) {
            let n = rng.number();
            match rng.below(10) {
                0 => write!(v, ".el{}", 7 + rng.below(3)).unwrap(),
                1 => write!(v, ".el{}_{n}", 7 + rng.below(3)).unwrap(),
                2 => write!(v, ".el9_2.{n}").unwrap(),
                3 => write!(v, ".fc{}", 37 + rng.below(4)).unwrap(),
                4 => write!(v, ".amzn2023.0.{n}").unwrap(),
                5 => write!(v, ".module+el8.{n}.0+1234+abcdef12").unwrap(),
                6 => write!(v, ".{n}").unwrap(),
                7 => write!(v, "~{}", rng.pick(&["rc", "pre", ""])).unwrap(),
                8 => write!(v, "^{n}").unwrap(),
                _ => write!(v, "{}", rng.pick(&["a", "git", "_1"])).unwrap(),
            }
        }
    }
    v
}

/// An Alpine version: mostly valid, sometimes with leading zeros, hashes or invalid tokens.
fn alpine_version(rng: &mut Rng) -> String {
    let mut v = rng.number();
    for _ in 0..rng.below(4) {
        write!(v, ".{}", rng.number()).unwrap();
    }
    if rng.chance(15) {
        v.push_str(rng.pick(&["a", "b", "z"]));
    }
    for _ in 0..rng.below(3) {
        let suffix = rng.pick(&["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p", "foo"]);
        write!(v, "_{suffix}{}", rng.maybe_number()).unwrap();
    }
    if rng.chance(10) {
        write!(v, "~{}", rng.pick(&["0af3", "1234", "deadbeef", "abc", "XYZ"])).unwrap();
    }
    if rng.chance(70) {
        write!(v, "-r{}", rng.number()).unwrap();
    }
    if rng.chance(5) {
        v.push_str(rng.pick(&["A", "-1", ".", "bc", "-r1", "_", "~"]));
    }
    v
}

/// A small change to `v`, so that pairs often agree on a long prefix or are equal.
fn nudge(rng: &mut Rng, v: &str, tails: &[&str]) -> String {
    match rng.below(5) {
        0 => format!("{v}{}", rng.pick(tails)),
        1 => {
            // Add a leading zero before one digit run (equal under numeric comparison).
            let starts: Vec<usize> = v
                .char_indices()
                .filter(|&(i, c)| c.is_ascii_digit() && !v[..i].ends_with(|p: char| p.is_ascii_digit()))
                .map(|(i, _)| i)
                .collect();
            if starts.is_empty() {
                return v.to_owned();
            }
            let at = starts[rng.below(starts.len())];
            format!("{}0{}", &v[..at], &v[at..])
        }
        2 => {
            // Change one digit.
            let digits: Vec<usize> = v.char_indices().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
            if digits.is_empty() {
                return v.to_owned();
            }
            let at = digits[rng.below(digits.len())];
            format!("{}{}{}", &v[..at], rng.below(10), &v[at + 1..])
        }
        // An explicit zero epoch (equal for dpkg and rpm).
        3 if !v.contains(':') => format!("0:{v}"),
        _ => {
            // Cut the end off at a separator, the release/revision hyphen included.
            let cut: Vec<usize> = v.char_indices().filter(|(_, c)| ".~+^_-".contains(*c)).map(|(i, _)| i).collect();
            if cut.is_empty() {
                return v.to_owned();
            }
            v[..cut[rng.below(cut.len())]].to_owned()
        }
    }
}

/// `n` pairs: a third unrelated versions, the rest a version and a nudged copy.
fn pairs(rng: &mut Rng, n: usize, generate: fn(&mut Rng) -> String, tails: &[&str]) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let a = generate(rng);
            let b = if i % 3 == 0 { generate(rng) } else { nudge(rng, &a, tails) };
            if rng.chance(50) {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect()
}

fn debian_pairs(rng: &mut Rng, n: usize) -> Vec<(String, String)> {
    pairs(rng, n, debian_version, &["~", "~~", "+b1", ".0", "a", "+deb12u1", "~bpo12+1", "0", "-0", "-1"])
        .into_iter()
        // A nudge can leave a hyphen at the end or cut a revision down to nothing; dpkg refuses
        // those, and the vectors already cover them.
        .filter(|(a, b)| [a, b].iter().all(|v| !v.ends_with('-') && !v.is_empty()))
        .collect()
}

fn rpm_pairs(rng: &mut Rng, n: usize) -> Vec<(String, String)> {
    pairs(rng, n, rpm_evr, &["~", "^", "^1", ".0", "a", "_1", ".el8", "-1", "0", "~rc1"])
}

/// The versions of some pairs, deduplicated, plus odd inputs.
fn pool(pairs: &[(String, String)], odd: &[&str], extra: Vec<String>) -> Vec<String> {
    let mut set: BTreeSet<String> = pairs.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    set.extend(odd.iter().map(|s| s.to_string()));
    set.extend(extra);
    set.into_iter().collect()
}

/// Mismatch lines, capped, for a failure message.
fn report(what: &str, mismatches: &[String], n_checked: usize) -> String {
    let mut out = format!("{} of {n_checked} {what} disagree:\n", mismatches.len());
    for line in mismatches.iter().take(SHOWN_MISMATCHES) {
        writeln!(out, "  {line}").unwrap();
    }
    if mismatches.len() > SHOWN_MISMATCHES {
        writeln!(out, "  … and {} more", mismatches.len() - SHOWN_MISMATCHES).unwrap();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Oracles

/// `dpkg --compare-versions a op b`: true, false, or a panic with dpkg's message when dpkg
/// refuses the input or warns about it.
fn dpkg_holds(a: &str, op: &str, b: &str) -> bool {
    let output = match Command::new("dpkg").args(["--compare-versions", "--", a, op, b]).output() {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            panic!(
                "dpkg is not installed: this test compares against `dpkg --compare-versions` (Debian's dpkg package)"
            )
        }
        Err(e) => panic!("run dpkg: {e}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The generator makes valid versions only: dpkg must not even warn.
    match output.status.code() {
        Some(0) if stderr.trim().is_empty() => true,
        Some(1) if stderr.trim().is_empty() => false,
        _ => panic!("dpkg --compare-versions {a:?} {op} {b:?}: {}: {}", output.status, stderr.trim()),
    }
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions() {
    let mut rng = Rng(SEED);
    let pairs = debian_pairs(&mut rng, N_PAIRS);
    assert!(pairs.len() >= 1500, "only {} usable generated pairs", pairs.len());
    let mut mismatches = Vec::new();
    let mut n_by_sign = [0usize; 3];
    for (a, b) in &pairs {
        let expected = if dpkg_holds(a, "lt", b) {
            Ordering::Less
        } else if dpkg_holds(a, "eq", b) {
            Ordering::Equal
        } else {
            Ordering::Greater
        };
        n_by_sign[(sign(expected) + 1) as usize] += 1;
        let got = dpkg::compare(a, b);
        if got != expected {
            mismatches.push(format!("{a:?} vs {b:?}: dpkg says {}, we say {}", sign(expected), sign(got)));
        }
    }
    assert!(mismatches.is_empty(), "{}", report("pairs (dpkg)", &mismatches, pairs.len()));
    let [n_less, n_equal, n_greater] = n_by_sign;
    eprintln!(
        "{} generated pairs agree with dpkg --compare-versions: {n_less} <, {n_equal} =, {n_greater} >",
        pairs.len()
    );
    assert!(n_equal > 50, "the generator should produce equal pairs too; got {n_equal}");
}

/// The strings are safe inside a Lua double-quoted string literal.
fn lua_safe(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_alphanumeric() || b".~^+_:-".contains(&c))
}

#[test]
fn rpm_agrees_with_rpm_lua_vercmp() {
    match Command::new("rpm").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        Ok(_) | Err(_) => {
            eprintln!("rpm is not installed (Debian package `rpm`); skipping the comparison against rpm.vercmp");
            return;
        }
    }
    let mut rng = Rng(SEED ^ 0x0072_706D);
    let pairs = rpm_pairs(&mut rng, N_PAIRS);
    // rpm.vercmp raises an error on an empty string; the vectors cover odd input already.
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(a, b)| !a.is_empty() && !b.is_empty()).collect();
    assert!(pairs.len() >= 1500, "only {} usable generated pairs", pairs.len());

    let mut lua = String::from("local cases = {\n");
    for (a, b) in &pairs {
        assert!(lua_safe(a) && lua_safe(b), "generated EVR not safe for Lua: {a:?} {b:?}");
        writeln!(lua, "{{\"{a}\",\"{b}\"}},").unwrap();
    }
    lua.push_str("}\nfor _, c in ipairs(cases) do io.write(rpm.vercmp(c[1], c[2]), \"\\n\") end\nio.flush()\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("vercmp.lua");
    fs::write(&script, lua).expect("write lua chunk");
    let script = script.to_str().expect("utf-8 temp path");
    assert!(!script.contains(['"', '%', '\\']), "temp path unusable in an rpm macro: {script}");
    let output =
        Command::new("rpm").arg("--eval").arg(format!("%{{lua: dofile(\"{script}\")}}")).output().expect("run rpm");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "rpm --eval failed: {}", String::from_utf8_lossy(&output.stderr));
    let results: Vec<&str> = stdout.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(
        results.len(),
        pairs.len(),
        "rpm printed {} results for {} pairs; stderr: {}",
        results.len(),
        pairs.len(),
        String::from_utf8_lossy(&output.stderr)
    );

    let mut mismatches = Vec::new();
    let mut n_by_sign = [0usize; 3];
    for ((a, b), result) in pairs.iter().zip(&results) {
        let expected = match *result {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("rpm.vercmp({a:?}, {b:?}) printed {other:?}"),
        };
        n_by_sign[(sign(expected) + 1) as usize] += 1;
        let got = rpm::compare(a, b);
        if got != expected {
            mismatches.push(format!("{a:?} vs {b:?}: rpm says {}, we say {}", sign(expected), sign(got)));
        }
    }
    assert!(mismatches.is_empty(), "{}", report("pairs (rpm)", &mismatches, pairs.len()));
    let [n_less, n_equal, n_greater] = n_by_sign;
    eprintln!("{} generated pairs agree with rpm.vercmp: {n_less} <, {n_equal} =, {n_greater} >", pairs.len());
    assert!(n_equal > 50, "the generator should produce equal pairs too; got {n_equal}");
}

// ---------------------------------------------------------------------------------------------
// Total order

/// Sort `versions` with `compare`, then check that every pair (i < j) relates the way the
/// sorted sequence says: `Less` when a strict step lies between them, else `Equal`, and the
/// reverse the other way round. That holds exactly when `compare` is a total preorder on
/// the set (reflexive, antisymmetric, transitive).
fn check_total_order(name: &str, versions: Vec<String>, compare: Comparator) {
    // Binary insertion sort: unlike `sort_by`, it cannot panic on a broken order, so the
    // pairwise check below gets to name the versions involved.
    let mut sorted: Vec<String> = Vec::with_capacity(versions.len());
    for v in versions {
        let at = sorted.partition_point(|x| compare(x, &v) != Ordering::Greater);
        sorted.insert(at, v);
    }
    let n = sorted.len();
    let mut mismatches = Vec::new();
    // rank[i]: the number of strict steps before position i.
    let mut rank = vec![0usize; n];
    for i in 1..n {
        let step = compare(&sorted[i - 1], &sorted[i]);
        if step == Ordering::Greater {
            mismatches.push(format!("sorted neighbours out of order: {:?} > {:?}", sorted[i - 1], sorted[i]));
        }
        rank[i] = rank[i - 1] + usize::from(step == Ordering::Less);
    }
    for i in 0..n {
        if compare(&sorted[i], &sorted[i]) != Ordering::Equal {
            mismatches.push(format!("{:?} is not equal to itself", sorted[i]));
        }
        for j in i + 1..n {
            let expected = if rank[i] < rank[j] { Ordering::Less } else { Ordering::Equal };
            let (forward, backward) = (compare(&sorted[i], &sorted[j]), compare(&sorted[j], &sorted[i]));
            if forward != expected || backward != expected.reverse() {
                mismatches.push(format!(
                    "{:?} vs {:?}: sorted order says {}, compare says {} (reversed: {})",
                    sorted[i],
                    sorted[j],
                    sign(expected),
                    sign(forward),
                    sign(backward)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}",
        report(&format!("{name} relations among {n} versions"), &mismatches, n * (n + 1) / 2)
    );
    let n_distinct = rank.last().map_or(0, |r| r + 1);
    assert!(n_distinct > n / 4, "{name}: too few distinct versions to mean much");
    eprintln!("{name}: {n} versions ({n_distinct} distinct), all {} pairs consistent with one order", n * (n - 1) / 2);
}

/// Random strings over a wide alphabet, non-ASCII included: none may make a comparator panic
/// or break the order.
fn junk(rng: &mut Rng, n: usize) -> Vec<String> {
    const ALPHABET: &[&str] = &["0", "1", "9", ".", ":", "-", "+", "~", "^", "_", "a", "r", "z", "A", "é", " "];
    (0..n).map(|_| (0..rng.below(8)).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect()).collect()
}

#[test]
fn dpkg_is_a_total_order() {
    let mut rng = Rng(SEED ^ 1);
    let mut extra = junk(&mut rng, 150);
    extra.extend(vector_strings(&["dpkg.tsv"]));
    let odd = [
        "",
        " ",
        "~",
        "~~",
        "a:1",
        ":1",
        "1:",
        "0:",
        "-",
        "1.0-",
        "-1",
        "1.0é",
        "é",
        "1:1:1",
        "1--1",
        "+",
        ".",
        "00:0",
        "1.0 ",
        "\t1.0",
        "99999999999999999999999:1",
    ];
    check_total_order("dpkg", pool(&debian_pairs(&mut rng, 400), &odd, extra), dpkg::compare);
}

#[test]
fn rpm_is_a_total_order() {
    let mut rng = Rng(SEED ^ 2);
    let mut extra = junk(&mut rng, 150);
    extra.extend(vector_strings(&["rpm.tsv", "rpm_matrix.tsv"]));
    let odd =
        ["", ":", "0:", "-", "1-", "-1", "a:1", "~", "^", "~^", "^~", "1.0-~", "1.0-^", "1-2-3-4", "é", "1..", "1:2:3"];
    check_total_order("rpm", pool(&rpm_pairs(&mut rng, 400), &odd, extra), rpm::compare);
}

#[test]
fn rpm_vercmp_is_a_total_order() {
    let mut rng = Rng(SEED ^ 3);
    let mut extra = junk(&mut rng, 150);
    extra.extend(vector_strings(&["rpm_matrix.tsv"]));
    let odd = ["", "~", "^", "~^", "^~", "1.", ".1", "a", "1a", "a1", "é"];
    check_total_order("rpm vercmp", pool(&rpm_pairs(&mut rng, 400), &odd, extra), rpm::vercmp);
}

#[test]
fn apk_is_a_total_order() {
    let mut rng = Rng(SEED ^ 4);
    let mut extra = junk(&mut rng, 150);
    extra.extend(vector_strings(&["apk.tsv", "apk_v3_only.tsv"]));
    let odd = [
        "",
        "a",
        "1.0bc",
        "1.0_foo",
        "1.0-1",
        "1.0.",
        "1.0~",
        "1.0~XYZ",
        "1.0-r",
        "1.0-r1-r2",
        "01",
        "1.00",
        "1.0A",
        "1__",
        "1_",
        "1.0_p",
        "1-r1a",
        "99999999999999999999999",
        "8.2.0",
        "8.2.001",
        "8.2.0015",
        "8.2.002",
    ];
    let generated: Vec<(String, String)> =
        (0..400).map(|_| (alpine_version(&mut rng), alpine_version(&mut rng))).collect();
    check_total_order("apk", pool(&generated, &odd, extra), apk::compare);
}
