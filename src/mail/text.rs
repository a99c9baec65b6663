//! Small readers over advisory body text shared by the DSA/DLA, USN and RHSA parsers: `Key : value`
//! fields with continuation lines, CVE ids, advisory dates, subject tags and paragraphs. Pure
//! functions over `&str`; no MIME decoding and no IO here.

/// The value of the first `Key : value` field named `name` (ASCII case-insensitive), with its
/// continuation lines (non-blank lines indented deeper than the key, that are not fields
/// themselves) joined by single spaces.
///
/// ```text
/// CVE ID         : CVE-2024-2961 CVE-2024-33599
///                  CVE-2024-33600
/// ```
pub(crate) fn field(text: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some((key, value)) = split_field(line) else { continue };
        if !key.eq_ignore_ascii_case(name) {
            continue;
        }
        let indent = indent_of(line);
        let mut out = value.trim().to_owned();
        for next in lines.iter().skip(i + 1) {
            if next.trim().is_empty() || indent_of(next) <= indent || split_field(next).is_some() {
                break;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(next.trim());
        }
        return Some(out);
    }
    None
}

/// `("CVE ID", " CVE-…")` for a `Key : value` line. Keys are short runs of words (letters,
/// digits, `-`, single spaces); anything else (prose, URLs) is not a field.
fn split_field(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let word_chars = key.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
    if key.is_empty() || key.len() > 32 || !word_chars || key.contains("  ") || value.starts_with("//") {
        return None;
    }
    Some((key, value))
}

/// Leading whitespace width (a tab counts as one).
pub(crate) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Every `CVE-YYYY-NNNN…` id in `text`, in order of first appearance, without duplicates.
pub(crate) fn cve_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("CVE-").map(|p| p + from) {
        from = pos + 4;
        if pos > 0 && bytes[pos - 1].is_ascii_alphanumeric() {
            continue;
        }
        let year_end = pos + 4 + digits_at(bytes, pos + 4);
        if year_end - (pos + 4) != 4 || bytes.get(year_end) != Some(&b'-') {
            continue;
        }
        let num_len = digits_at(bytes, year_end + 1);
        if num_len < 4 {
            continue;
        }
        let end = year_end + 1 + num_len;
        if bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let id = &text[pos..end];
        if !out.iter().any(|seen| seen == id) {
            out.push(id.to_owned());
        }
        from = end;
    }
    out
}

/// Number of ASCII digits starting at `at`.
pub(crate) fn digits_at(bytes: &[u8], at: usize) -> usize {
    bytes.get(at..).map_or(0, |rest| rest.iter().take_while(|b| b.is_ascii_digit()).count())
}

/// Blank-line separated paragraphs, each with its lines joined by single spaces.
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        for word in line.split_whitespace() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `2017-01-29` from a line that starts with `January 29, 2017` (the date line of a DSA, DLA or
/// USN header block); anything after the year is ignored.
pub(crate) fn month_day_year(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let month = words.next()?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let day: u32 = words.next()?.trim_end_matches(',').parse().ok()?;
    let year: u32 = words.next()?.parse().ok()?;
    if !(1..=31).contains(&day) || !(1990..=9999).contains(&year) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// The first `January 29, 2017` date on one of the `n` lines after line `after`.
pub(crate) fn date_after_line(text: &str, after: usize, n: usize) -> Option<String> {
    text.lines().skip(after + 1).take(n).find_map(month_day_year)
}

/// The year of a `YYYY-MM-DD…` date.
pub(crate) fn year_of(date: &str) -> Option<u16> {
    let year = date.get(..4)?;
    year.bytes().all(|b| b.is_ascii_digit()).then(|| year.parse().ok()).flatten()
}

/// The title that follows a `[TAG …]` in a subject: `[SECURITY] [DSA 5678-1] glibc security
/// update` → `glibc security update`. A trailing `]` without a matching `[` (a mangled forward
/// subject) is dropped. `tag_end` is the byte offset just past the tag's `]`.
pub(crate) fn title_after(subject: &str, tag_end: usize) -> Option<String> {
    let mut title = subject.get(tag_end..)?.trim();
    while title.ends_with(']') && title.matches('[').count() < title.matches(']').count() {
        title = title[..title.len() - 1].trim_end();
    }
    (!title.is_empty()).then(|| title.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The lines of `text` that look like a forwarded or quoted `Subject:` header, trimmed after the
/// colon.
pub(crate) fn inner_subjects(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let line = line.trim_start();
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case("subject").then(|| value.trim())
    })
}

/// A plausible Debian/Ubuntu package name: `[a-z0-9][a-z0-9+.-]+`.
pub(crate) fn is_deb_package_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(b))
}

/// A plausible version token: starts with a digit, has no spaces, and carries no sentence
/// punctuation at its end (`2.31-13+deb11u10.` → `2.31-13+deb11u10`).
pub(crate) fn version_token(word: &str) -> Option<&str> {
    let version = word.trim_end_matches(['.', ',', ';', ':', ')', '"', '\'']);
    let first = version.chars().next()?;
    first.is_ascii_digit().then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_continuations() {
        let text = "Package        : glibc\nCVE ID         : CVE-2024-2961 CVE-2024-33599\n                 \
                    CVE-2024-33600\nDebian Bug     : 1069191\n\nBody: text";
        assert_eq!(field(text, "package").as_deref(), Some("glibc"));
        assert_eq!(field(text, "CVE ID").as_deref(), Some("CVE-2024-2961 CVE-2024-33599 CVE-2024-33600"));
        assert_eq!(field(text, "Debian Bug").as_deref(), Some("1069191"));
        assert_eq!(field(text, "Version"), None);
        // A URL is not a field.
        assert_eq!(field("https://example.org/x", "https"), None);
    }

    #[test]
    fn cve_ids_are_found_once_in_order() {
        assert_eq!(
            cve_ids("CVE-2024-2961, (CVE-2016-7922) xCVE-2020-1234 CVE-2024-2961 CVE-20-1 CVE-2021-123456."),
            ["CVE-2024-2961", "CVE-2016-7922", "CVE-2021-123456"]
        );
    }

    #[test]
    fn dates_and_titles() {
        assert_eq!(
            month_day_year("January 29, 2017     https://www.debian.org/security/faq").as_deref(),
            Some("2017-01-29")
        );
        assert_eq!(month_day_year("October 04, 2023").as_deref(), Some("2023-10-04"));
        assert_eq!(month_day_year("Maybe 04, 2023"), None);
        assert_eq!(year_of("2024-09-03T10:00:00Z"), Some(2024));
        let subject = "[oss-security] FW: [DSA 3775-1] tcpdump security update]";
        let end = subject.find("1]").map(|p| p + 2).unwrap_or_default();
        assert_eq!(title_after(subject, end).as_deref(), Some("tcpdump security update"));
        assert_eq!(version_token("2.31-13+deb11u10."), Some("2.31-13+deb11u10"));
        assert_eq!(version_token("soon."), None);
    }
}
