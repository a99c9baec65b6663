//! Slack incoming-webhook messages (Block Kit payloads) for advisories, rebuilds and digests,
//! always within Slack's size limits. Pure rendering: no IO, no sending, no retries, no
//! rate limiting; the caller owns delivery and never logs the webhook URL.
//!
//! Every message has a top-level `text` (mobile notifications show only that) that leads
//! with severity, what changed and the blast radius, then `blocks`: a header, a context
//! line, sections and link buttons. Values from feeds and registries are untrusted: each is
//! escaped for mrkdwn (`&`, `<`, `>`), put on one line, and clipped to a fixed length, so
//! every rendered line has a known maximum. Long lists are cut after whole lines (never in
//! the middle of one) and end with an exact `…and N more images` line.

use serde_json::{json, Value};

use crate::advisories::Severity;

/// Blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Characters of one section's text.
pub const MAX_SECTION_CHARS: usize = 3_000;
/// Characters of a header's plain text.
pub const MAX_HEADER_CHARS: usize = 150;
/// Characters of the top-level `text` (Slack truncates beyond it).
pub const MAX_TEXT_CHARS: usize = 40_000;
/// Characters of all text and URLs in the blocks together. Slack rejects messages from
/// about 13.2k characters of block text with the undocumented `msg_blocks_too_long`
/// (slackapi/bolt-js#2509); this stays safely below.
pub const MAX_BLOCK_TEXT_CHARS: usize = 12_000;
/// Elements of a context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Elements of an actions block.
pub const MAX_ACTION_ELEMENTS: usize = 25;
/// Characters of a button's label.
pub const MAX_BUTTON_TEXT_CHARS: usize = 75;
/// Characters of a button's URL (Slack's limit; buttons here use [`MAX_LINK_CHARS`]).
pub const MAX_URL_CHARS: usize = 3_000;

// Caps of this renderer (not Slack's): they bound every line, so a listing can always be
// cut after a whole line and the fixed blocks leave most of the budget to the listing.
/// A longer link gets no button (it would eat the block-text budget).
const MAX_LINK_CHARS: usize = 1_000;
const MAX_REFERENCE_CHARS: usize = 200;
const MAX_ID_CHARS: usize = 100;
const MAX_NAME_CHARS: usize = 80;
const MAX_VERSION_CHARS: usize = 64;
/// Statuses, fix states, feed and route names.
const MAX_WORD_CHARS: usize = 40;
const MAX_TITLE_CHARS: usize = 300;
const MAX_ERROR_CHARS: usize = 1_000;
const MAX_CAUSE_CHARS: usize = 200;
/// Package lines under one image; more become one `…and N more packages` line.
const MAX_PACKAGES_PER_IMAGE: usize = 8;
/// Aliases named in the context line.
const MAX_ALIASES: usize = 8;
/// Package names (or causes, or a digest line's packages) named in one line.
const MAX_SUBJECT_NAMES: usize = 3;
/// The section listing an advisory's rebuilds, and a rebuild's causes.
const MAX_SHORT_LISTING_CHARS: usize = 2_000;
/// Room kept in a listing for its `…and N more …` line (the longest is under 50 chars).
const TRAILER_RESERVE: usize = 64;
/// Indentation of children and their packages (Slack keeps leading spaces in mrkdwn).
const INDENT: &str = "    ";

/// A new advisory, or what changed about one, with the images it affects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdvisoryNotice {
    pub advisory_id: String,
    pub feed: String,
    pub title: Option<String>,
    pub severity: Severity,
    pub aliases: Vec<String>,
    /// The vendor's page.
    pub advisory_url: Option<String>,
    /// cascade's own link, e.g. `https://cascade.example/v1/advisories/DSA-1/affected-images`.
    pub api_url: Option<String>,
    pub kind: NoticeKind,
    /// The images this notice is about, grouped by intermediate image → children, in the
    /// order to show them.
    pub groups: Vec<ImageGroup>,
    /// How many images the notice is about (all affected ones for an announcement, the new
    /// ones for [`NoticeKind::NewImages`], the resolved ones for [`NoticeKind::Resolved`],
    /// the ones a fix became installable for). May exceed what `groups` lists; never taken
    /// as less than that.
    pub n_images: usize,
    /// Rebuilds triggered for this advisory.
    pub rebuilds: Vec<RebuildLine>,
}

/// What an [`AdvisoryNotice`] announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// A new advisory that affects images.
    Announcement,
    /// More images are affected than before.
    NewImages,
    /// The advisory no longer affects these images.
    Resolved,
    /// A fixed package version became installable.
    FixInstallable,
}

/// An intermediate (base) image and the images built on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageGroup {
    pub root: ImageLine,
    pub children: Vec<ImageLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageLine {
    pub reference: String,
    pub packages: Vec<PackageLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageLine {
    pub name: String,
    pub installed: String,
    pub fixed: Option<String>,
    /// `installable`, `not-yet` or `unknown`.
    pub fix_state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RebuildLine {
    pub image: String,
    pub status: String,
}

/// A rebuild changed state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RebuildNotice {
    pub rebuild_id: i64,
    pub image: String,
    /// `requested`, `confirmed`, `failed` or `timed-out`.
    pub status: String,
    pub causes: Vec<String>,
    pub trigger: String,
    pub parent: Option<String>,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub error: Option<String>,
    /// Images waiting for this one (the cascade's next step).
    pub children: Vec<String>,
    pub api_url: Option<String>,
}

/// Advisories of one route over a period, one line each, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestNotice {
    pub route: String,
    /// e.g. `last 24 h`.
    pub period: String,
    pub items: Vec<DigestLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestLine {
    pub advisory_id: String,
    pub severity: Severity,
    pub n_images: usize,
    pub packages: Vec<String>,
    pub fixable: bool,
}

/// The message for a new advisory or a change to one (see [`NoticeKind`]).
pub fn advisory_message(notice: &AdvisoryNotice) -> Value {
    let severity = severity_label(notice.severity);
    let n_listed: usize = notice.groups.iter().map(|g| 1 + g.children.len()).sum();
    let n_images = notice.n_images.max(n_listed);
    let names = package_names(notice);
    let headline_mrkdwn = advisory_headline(notice, &names, n_images, clip);
    let headline_plain = advisory_headline(notice, &names, n_images, clip_plain);

    let mut text = format!("{severity}: {headline_mrkdwn}");
    if !notice.rebuilds.is_empty() {
        text.push_str(&format!("; {} triggered", plural(notice.rebuilds.len(), "rebuild", "rebuilds")));
    }

    let header_text = match (&notice.kind, &notice.title) {
        (NoticeKind::Announcement, Some(title)) => {
            format!("{}: {}", clip_plain(&notice.advisory_id, MAX_ID_CHARS), clip_plain(title, MAX_TITLE_CHARS))
        }
        _ => capitalize(&headline_plain),
    };

    let mut context = format!("*{severity}* | {}", clip(&notice.advisory_id, MAX_ID_CHARS));
    if !notice.aliases.is_empty() {
        context.push_str(" | ");
        context.push_str(&name_list(&notice.aliases, MAX_ALIASES, MAX_ID_CHARS));
    }

    let mut summary = String::new();
    if let Some(title) = &notice.title {
        summary.push_str(&format!("*{}*\n", clip(title, MAX_TITLE_CHARS)));
    }
    summary.push_str(&format!("{}.\nFeed: {}", capitalize(&headline_mrkdwn), clip(&notice.feed, MAX_WORD_CHARS)));

    let mut blocks = vec![header(&header_text), context_block(context), section(summary)];
    let mut tail = Vec::new();
    if !notice.rebuilds.is_empty() {
        let heading = format!("*{} triggered*", plural(notice.rebuilds.len(), "rebuild", "rebuilds"));
        let units = notice.rebuilds.iter().map(|r| {
            Unit::one(format!("• {} — {}", clip(&r.image, MAX_REFERENCE_CHARS), clip(&r.status, MAX_WORD_CHARS)))
        });
        let listing = Listing { heading: Some(heading), noun: ("rebuild", "rebuilds"), max_sections: 1 };
        tail.extend(listing.pack(units, notice.rebuilds.len(), MAX_SHORT_LISTING_CHARS).into_iter().map(section));
    }
    tail.extend(actions(&[
        ("advisory", "View advisory", notice.advisory_url.as_deref()),
        ("cascade", "Affected images in cascade", notice.api_url.as_deref()),
    ]));

    let listing_heading = match notice.kind {
        NoticeKind::Announcement => "*Affected images*",
        NoticeKind::NewImages => "*Newly affected images*",
        NoticeKind::Resolved => "*Resolved in*",
        NoticeKind::FixInstallable => "*Fix installable in*",
    };
    let (max_sections, max_chars) = remaining(&blocks, &tail);
    let units = notice.groups.iter().flat_map(|group| {
        std::iter::once(image_unit(&group.root, true)).chain(group.children.iter().map(|c| image_unit(c, false)))
    });
    let listing = Listing { heading: Some(listing_heading.to_string()), noun: ("image", "images"), max_sections };
    if n_images > 0 {
        blocks.extend(listing.pack(units, n_images, max_chars).into_iter().map(section));
    }
    blocks.extend(tail);
    message(text, blocks)
}

/// The message for a rebuild that was requested, confirmed, failed or timed out.
pub fn rebuild_message(notice: &RebuildNotice) -> Value {
    let headline_mrkdwn = rebuild_headline(notice, clip);
    let headline_plain = rebuild_headline(notice, clip_plain);

    let mut text = headline_mrkdwn.clone();
    if !notice.causes.is_empty() {
        text.push_str(&format!("; cause: {}", name_list(&notice.causes, MAX_SUBJECT_NAMES, MAX_CAUSE_CHARS)));
    }
    if !notice.children.is_empty() {
        let verb = if notice.children.len() == 1 { "waits" } else { "wait" };
        text.push_str(&format!("; {} {verb} for it", plural(notice.children.len(), "image", "images")));
    }

    let context = format!(
        "rebuild #{} | {} | trigger {}",
        notice.rebuild_id,
        clip(&notice.status, MAX_WORD_CHARS),
        clip(&notice.trigger, MAX_REFERENCE_CHARS)
    );

    let mut blocks = vec![header(&headline_plain), context_block(context)];
    if !notice.causes.is_empty() {
        let units = notice.causes.iter().map(|c| Unit::one(format!("• {}", clip(c, MAX_CAUSE_CHARS))));
        let listing = Listing { heading: Some("*Causes*".to_string()), noun: ("cause", "causes"), max_sections: 1 };
        blocks.extend(listing.pack(units, notice.causes.len(), MAX_SHORT_LISTING_CHARS).into_iter().map(section));
    }
    let mut details = Vec::new();
    if let Some(parent) = &notice.parent {
        details.push(format!("*Parent:* {}", clip(parent, MAX_REFERENCE_CHARS)));
    }
    match (&notice.old_digest, &notice.new_digest) {
        (None, None) => {}
        (old, new) => {
            let shown =
                |d: &Option<String>| d.as_deref().map_or_else(|| "?".to_string(), |d| format!("`{}`", short_digest(d)));
            details.push(format!("*Digest:* {} → {}", shown(old), shown(new)));
        }
    }
    if let Some(error) = &notice.error {
        details.push(format!("*Error:* {}", clip(error, MAX_ERROR_CHARS)));
    }
    if !details.is_empty() {
        blocks.push(section(details.join("\n")));
    }

    let tail: Vec<Value> =
        actions(&[("cascade", "Rebuild in cascade", notice.api_url.as_deref())]).into_iter().collect();
    if !notice.children.is_empty() {
        let n = notice.children.len();
        let verb = if n == 1 { "waits" } else { "wait" };
        let heading = format!("*Next in the cascade:* {} {verb} for this rebuild", plural(n, "image", "images"));
        let (max_sections, max_chars) = remaining(&blocks, &tail);
        let units = notice.children.iter().map(|c| Unit::one(format!("• {}", clip(c, MAX_REFERENCE_CHARS))));
        let listing = Listing { heading: Some(heading), noun: ("image", "images"), max_sections };
        blocks.extend(listing.pack(units, n, max_chars).into_iter().map(section));
    }
    blocks.extend(tail);
    message(text, blocks)
}

/// The periodic digest of a route: one line per advisory, in the order given.
pub fn digest_message(notice: &DigestNotice) -> Value {
    let route = clip(&notice.route, MAX_WORD_CHARS);
    let period = clip(&notice.period, MAX_WORD_CHARS);
    let n = notice.items.len();
    let top = notice.items.iter().map(|i| i.severity).max();
    let n_fixable = notice.items.iter().filter(|i| i.fixable).count();

    let text = match top {
        None => format!("No new advisories for {route} ({period})"),
        Some(top) => format!(
            "{}: {} for {route} ({period}); {n_fixable} with an installable fix",
            severity_label(top),
            plural(n, "advisory", "advisories")
        ),
    };
    let header_text = format!(
        "Advisory digest: {} ({})",
        clip_plain(&notice.route, MAX_WORD_CHARS),
        clip_plain(&notice.period, MAX_WORD_CHARS)
    );

    let mut by_severity = Vec::new();
    for severity in SEVERITIES_DESCENDING {
        let k = notice.items.iter().filter(|i| i.severity == severity).count();
        if k > 0 {
            by_severity.push(format!("{k} {}", severity.as_str()));
        }
    }
    let context = match top {
        None => format!("no advisories | {period}"),
        Some(top) => format!(
            "*{}* | {} ({}) | {period}",
            severity_label(top),
            plural(n, "advisory", "advisories"),
            by_severity.join(", ")
        ),
    };

    let mut blocks = vec![header(&header_text), context_block(context)];
    if n == 0 {
        blocks.push(section("Nothing new affects the watched images.".to_string()));
    } else {
        let (max_sections, max_chars) = remaining(&blocks, &[]);
        let units = notice.items.iter().map(|item| {
            let mut line = format!(
                "*{}* {} — {}",
                severity_label(item.severity),
                clip(&item.advisory_id, MAX_ID_CHARS),
                plural(item.n_images, "image", "images")
            );
            if !item.packages.is_empty() {
                line.push_str(&format!(" ({})", name_list(&item.packages, MAX_SUBJECT_NAMES, MAX_NAME_CHARS)));
            }
            line.push_str(if item.fixable { " — fix installable" } else { " — no installable fix" });
            Unit::one(line)
        });
        let listing = Listing { heading: None, noun: ("advisory", "advisories"), max_sections };
        blocks.extend(listing.pack(units, n, max_chars).into_iter().map(section));
    }
    message(text, blocks)
}

/// Checks a payload against Slack's limits: non-empty, at most [`MAX_BLOCKS`] blocks,
/// section texts up to [`MAX_SECTION_CHARS`], header up to [`MAX_HEADER_CHARS`], top-level
/// `text` up to [`MAX_TEXT_CHARS`], context and actions element counts, button labels and
/// URLs, and all block text together up to [`MAX_BLOCK_TEXT_CHARS`].
pub fn check_limits(payload: &Value) -> Result<(), String> {
    let object = payload.as_object().ok_or("payload is not a JSON object")?;
    let text = match object.get("text") {
        None => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err("text is not a string".into()),
    };
    if n_chars(text) > MAX_TEXT_CHARS {
        return Err(format!("text has {} characters, more than {MAX_TEXT_CHARS}", n_chars(text)));
    }
    let blocks = match object.get("blocks") {
        None => &[][..],
        Some(Value::Array(blocks)) => blocks.as_slice(),
        Some(_) => return Err("blocks is not an array".into()),
    };
    if text.trim().is_empty() && blocks.is_empty() {
        return Err("neither text nor blocks".into());
    }
    if blocks.len() > MAX_BLOCKS {
        return Err(format!("{} blocks, more than {MAX_BLOCKS}", blocks.len()));
    }
    for (i, block) in blocks.iter().enumerate() {
        check_block(block).map_err(|e| format!("block {i}: {e}"))?;
    }
    let total: usize = blocks.iter().map(block_text_chars).sum();
    if total > MAX_BLOCK_TEXT_CHARS {
        return Err(format!("blocks hold {total} characters of text, more than {MAX_BLOCK_TEXT_CHARS}"));
    }
    Ok(())
}

fn check_block(block: &Value) -> Result<(), String> {
    let text_of = |v: &Value| v.get("text").and_then(Value::as_str).map(str::to_string);
    match block.get("type").and_then(Value::as_str) {
        Some("header") => {
            let text = block.get("text").and_then(text_of).ok_or("header without text")?;
            if text.trim().is_empty() || n_chars(&text) > MAX_HEADER_CHARS {
                return Err(format!("header text has {} characters (1..={MAX_HEADER_CHARS})", n_chars(&text)));
            }
        }
        Some("section") => {
            let text = block.get("text").and_then(text_of).ok_or("section without text")?;
            if text.trim().is_empty() || n_chars(&text) > MAX_SECTION_CHARS {
                return Err(format!("section text has {} characters (1..={MAX_SECTION_CHARS})", n_chars(&text)));
            }
        }
        Some("context") => {
            let elements = block.get("elements").and_then(Value::as_array).ok_or("context without elements")?;
            if elements.is_empty() || elements.len() > MAX_CONTEXT_ELEMENTS {
                return Err(format!("context has {} elements (1..={MAX_CONTEXT_ELEMENTS})", elements.len()));
            }
            for element in elements {
                let text = text_of(element).ok_or("context element without text")?;
                if text.is_empty() || n_chars(&text) > MAX_SECTION_CHARS {
                    return Err(format!("context text has {} characters", n_chars(&text)));
                }
            }
        }
        Some("actions") => {
            let elements = block.get("elements").and_then(Value::as_array).ok_or("actions without elements")?;
            if elements.is_empty() || elements.len() > MAX_ACTION_ELEMENTS {
                return Err(format!("actions has {} elements (1..={MAX_ACTION_ELEMENTS})", elements.len()));
            }
            for element in elements {
                let label = element.get("text").and_then(text_of).ok_or("button without text")?;
                if label.is_empty() || n_chars(&label) > MAX_BUTTON_TEXT_CHARS {
                    return Err(format!("button text has {} characters", n_chars(&label)));
                }
                if let Some(url) = element.get("url").and_then(Value::as_str) {
                    if n_chars(url) > MAX_URL_CHARS {
                        return Err(format!("button url has {} characters", n_chars(url)));
                    }
                }
            }
        }
        Some("divider") => {}
        Some(other) => return Err(format!("unexpected block type {other:?}")),
        None => return Err("block without type".into()),
    }
    Ok(())
}

/// Characters of every `text` and `url` string in a block.
fn block_text_chars(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, v)| match v {
                Value::String(s) if key == "text" || key == "url" => n_chars(s),
                _ => block_text_chars(v),
            })
            .sum(),
        Value::Array(items) => items.iter().map(block_text_chars).sum(),
        _ => 0,
    }
}

const SEVERITIES_DESCENDING: [Severity; 6] =
    [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Negligible, Severity::Unknown];

/// A list of units (an image with its package lines, a rebuild, an advisory) rendered into
/// sections. Units are kept or left out whole, and only from the end: the shown ones are a
/// prefix, in order. Whatever is left out is counted in one closing `…and N more` line.
struct Listing {
    heading: Option<String>,
    noun: (&'static str, &'static str),
    max_sections: usize,
}

/// Lines that are shown or left out together, counting `weight` items (images, rebuilds…).
struct Unit {
    lines: Vec<String>,
    weight: usize,
}

impl Unit {
    fn one(line: String) -> Unit {
        Unit { lines: vec![line], weight: 1 }
    }
}

impl Listing {
    /// Section texts holding the heading and as many whole units as fit in `max_chars`
    /// characters and `max_sections` sections, then `…and N more` where N is `n_total`
    /// minus the weight shown; `n_total` is at least the units' total weight.
    fn pack(&self, units: impl IntoIterator<Item = Unit>, n_total: usize, max_chars: usize) -> Vec<String> {
        let mut packer = Packer {
            sections: Vec::new(),
            n_chars: 0,
            max_sections: self.max_sections,
            // The trailer always fits after whatever was packed.
            section_cap: MAX_SECTION_CHARS - TRAILER_RESERVE,
            max_chars: max_chars.saturating_sub(TRAILER_RESERVE),
        };
        if let Some(heading) = &self.heading {
            let mark = packer.mark();
            if !packer.push(heading) {
                packer.rollback(mark);
            }
        }
        // Units are rendered lazily: nothing after the first that does not fit is rendered.
        let mut n_shown = 0;
        for unit in units {
            let mark = packer.mark();
            if !unit.lines.iter().all(|line| packer.push(line)) {
                packer.rollback(mark);
                break;
            }
            n_shown += unit.weight;
        }
        let n_more = n_total.max(n_shown) - n_shown;
        if n_more > 0 {
            let noun = if n_more == 1 { self.noun.0 } else { self.noun.1 };
            let trailer = format!("…and {n_more} more {noun}");
            debug_assert!(n_chars(&trailer) < TRAILER_RESERVE);
            match packer.sections.last_mut() {
                Some((text, n)) => {
                    text.push('\n');
                    text.push_str(&trailer);
                    *n += 1 + n_chars(&trailer);
                }
                // A listing always gets at least one section (see `remaining`).
                None if self.max_sections > 0 => packer.sections.push((trailer.clone(), n_chars(&trailer))),
                None => {}
            }
        }
        packer.sections.into_iter().map(|(text, _)| text).collect()
    }
}

struct Packer {
    /// Text and its length in characters.
    sections: Vec<(String, usize)>,
    n_chars: usize,
    max_sections: usize,
    section_cap: usize,
    max_chars: usize,
}

/// Where to roll a [`Packer`] back to: sections, bytes and characters of the last one, total.
type Mark = (usize, usize, usize, usize);

impl Packer {
    /// Appends a line to the last section, or starts a new one; false when neither fits
    /// (the packer may then hold part of a unit: roll back).
    fn push(&mut self, line: &str) -> bool {
        let n = n_chars(line);
        if let Some((text, len)) = self.sections.last_mut() {
            if *len + 1 + n <= self.section_cap && self.n_chars + 1 + n <= self.max_chars {
                text.push('\n');
                text.push_str(line);
                *len += 1 + n;
                self.n_chars += 1 + n;
                return true;
            }
        }
        if self.sections.len() < self.max_sections && n <= self.section_cap && self.n_chars + n <= self.max_chars {
            self.sections.push((line.to_string(), n));
            self.n_chars += n;
            return true;
        }
        false
    }

    fn mark(&self) -> Mark {
        let (bytes, chars) = self.sections.last().map_or((0, 0), |(text, n)| (text.len(), *n));
        (self.sections.len(), bytes, chars, self.n_chars)
    }

    fn rollback(&mut self, (n_sections, bytes, chars, total): Mark) {
        self.sections.truncate(n_sections);
        if let Some((text, n)) = self.sections.last_mut() {
            text.truncate(bytes);
            *n = chars;
        }
        self.n_chars = total;
    }
}

/// Sections and characters left for a listing placed between `blocks` and `tail`; at least
/// one section, so the closing `…and N more` line always has a place.
fn remaining(blocks: &[Value], tail: &[Value]) -> (usize, usize) {
    let used_blocks = blocks.len() + tail.len();
    let used_chars: usize = blocks.iter().chain(tail).map(block_text_chars).sum();
    (MAX_BLOCKS.saturating_sub(used_blocks).max(1), MAX_BLOCK_TEXT_CHARS.saturating_sub(used_chars))
}

/// A root image in bold with its packages, or a child indented beneath its root.
fn image_unit(image: &ImageLine, root: bool) -> Unit {
    let reference = if image.reference.trim().is_empty() {
        "(no reference)".to_string()
    } else {
        clip(&image.reference, MAX_REFERENCE_CHARS)
    };
    let (first, package_indent) = if root {
        (format!("*{reference}*"), String::new())
    } else {
        (format!("{INDENT}↳ {reference}"), INDENT.repeat(2))
    };
    let mut lines = vec![first];
    for package in image.packages.iter().take(MAX_PACKAGES_PER_IMAGE) {
        lines.push(format!("{package_indent}• {}", package_line(package)));
    }
    if image.packages.len() > MAX_PACKAGES_PER_IMAGE {
        let n = image.packages.len() - MAX_PACKAGES_PER_IMAGE;
        lines.push(format!("{package_indent}• …and {}", plural(n, "more package", "more packages")));
    }
    Unit { lines, weight: 1 }
}

/// `libssl3 3.0.11-1 → fixed in 3.0.13-1 (installable)` or `libssl3 3.0.11-1 → no fix yet`.
fn package_line(package: &PackageLine) -> String {
    let head = format!("{} {}", clip(&package.name, MAX_NAME_CHARS), clip(&package.installed, MAX_VERSION_CHARS));
    let Some(fixed) = &package.fixed else { return format!("{head} → no fix yet") };
    let state = match package.fix_state.as_deref() {
        None => String::new(),
        Some("installable") => " (installable)".to_string(),
        Some("not-yet") => " (not installable yet)".to_string(),
        Some("unknown") => " (installability unknown)".to_string(),
        Some(other) => format!(" ({})", clip(other, MAX_WORD_CHARS)),
    };
    format!("{head} → fixed in {}{state}", clip(fixed, MAX_VERSION_CHARS))
}

/// Package names across the notice, first seen first, without repeats (not escaped).
fn package_names(notice: &AdvisoryNotice) -> Vec<String> {
    // All of them: the subject shows a few and counts the rest (`+N more`).
    let mut seen = std::collections::HashSet::new();
    let images = notice.groups.iter().flat_map(|g| std::iter::once(&g.root).chain(&g.children));
    images.flat_map(|image| &image.packages).filter(|p| seen.insert(p.name.as_str())).map(|p| p.name.clone()).collect()
}

/// `DSA-5678-1 (openssl) affects 14 images`, and the follow-ups' wording, with `clip`
/// escaping (mrkdwn) or not (plain text).
fn advisory_headline(
    notice: &AdvisoryNotice,
    names: &[String],
    n_images: usize,
    clip: fn(&str, usize) -> String,
) -> String {
    let mut subject = clip(&notice.advisory_id, MAX_ID_CHARS);
    if !names.is_empty() {
        subject.push_str(&format!(" ({})", list_with(names, MAX_SUBJECT_NAMES, MAX_NAME_CHARS, clip)));
    }
    let images = plural(n_images, "image", "images");
    match notice.kind {
        NoticeKind::Announcement => format!("{subject} affects {images}"),
        NoticeKind::NewImages => format!("{} affected by {subject}", plural(n_images, "more image", "more images")),
        NoticeKind::Resolved => format!("{subject} resolved in {images}"),
        NoticeKind::FixInstallable => format!("fix now installable for {subject} in {images}"),
    }
}

/// `Rebuild confirmed: IMAGE (new digest sha256:abcd…)` and the other states.
fn rebuild_headline(notice: &RebuildNotice, clip: fn(&str, usize) -> String) -> String {
    let image = clip(&notice.image, MAX_REFERENCE_CHARS);
    match notice.status.as_str() {
        "requested" => format!("Rebuild requested: {image}"),
        "confirmed" => match &notice.new_digest {
            Some(digest) => format!("Rebuild confirmed: {image} (new digest {})", short_digest(digest)),
            None => format!("Rebuild confirmed: {image}"),
        },
        "failed" => match &notice.error {
            Some(error) => format!("Rebuild failed: {image} — {}", clip(error, MAX_CAUSE_CHARS)),
            None => format!("Rebuild failed: {image}"),
        },
        "timed-out" => format!("Rebuild timed out: {image}"),
        other => format!("Rebuild {}: {image}", clip(other, MAX_WORD_CHARS)),
    }
}

/// `sha256:` and the first 12 hex digits, then `…`; only digest characters are kept, so the
/// result is safe in mrkdwn and inside backticks.
fn short_digest(digest: &str) -> String {
    let keep = |s: &str, max: usize| -> String {
        s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '_' | '-')).take(max).collect()
    };
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", digest));
    let hex = keep(hex, usize::MAX);
    let short: String = hex.chars().take(12).collect();
    let more = hex.len() > short.len();
    let algorithm = keep(algorithm, 16);
    let prefix = if algorithm.is_empty() { String::new() } else { format!("{algorithm}:") };
    format!("{prefix}{short}{}", if more { "…" } else { "" })
}

/// `a, b, c +2 more`, escaped for mrkdwn.
fn name_list(names: &[String], max_names: usize, max_chars: usize) -> String {
    list_with(names, max_names, max_chars, clip)
}

fn list_with(names: &[String], max_names: usize, max_chars: usize, clip: fn(&str, usize) -> String) -> String {
    let mut list = names.iter().take(max_names).map(|n| clip(n, max_chars)).collect::<Vec<_>>().join(", ");
    if names.len() > max_names {
        list.push_str(&format!(" +{} more", names.len() - max_names));
    }
    list
}

fn header(text: &str) -> Value {
    json!({ "type": "header", "text": { "type": "plain_text", "text": clip_plain(text, MAX_HEADER_CHARS) } })
}

fn context_block(text: String) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// Link buttons for the URLs given; None when there are none. A URL that is not http(s),
/// contains whitespace, or is longer than [`MAX_LINK_CHARS`] gets no button.
fn actions(buttons: &[(&str, &str, Option<&str>)]) -> Option<Value> {
    let elements: Vec<Value> = buttons
        .iter()
        .filter_map(|&(id, label, url)| {
            let url = url?;
            let usable = (url.starts_with("https://") || url.starts_with("http://"))
                && n_chars(url) <= MAX_LINK_CHARS
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            usable.then(|| {
                json!({
                    "type": "button",
                    "action_id": id,
                    "text": { "type": "plain_text", "text": label },
                    "url": url,
                })
            })
        })
        .collect();
    (!elements.is_empty()).then(|| json!({ "type": "actions", "elements": elements }))
}

fn message(text: String, blocks: Vec<Value>) -> Value {
    let text = if n_chars(&text) > MAX_TEXT_CHARS { clip_chars(&text, MAX_TEXT_CHARS) } else { text };
    let payload = json!({ "text": text, "blocks": blocks });
    debug_assert_eq!(check_limits(&payload), Ok(()), "{payload:#}");
    payload
}

fn severity_label(severity: Severity) -> String {
    severity.as_str().to_ascii_uppercase()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn n_chars(s: &str) -> usize {
    s.chars().count()
}

/// Escapes `&`, `<`, `>` for mrkdwn and turns control characters (newlines included) into
/// spaces; at most `max` characters, ending with `…` when cut, never inside an escape.
fn clip(s: &str, max: usize) -> String {
    clip_with(s, max, Escape::Mrkdwn)
}

/// Plain text (headers, button labels): control characters become spaces, nothing is
/// escaped (Slack shows plain_text as is); at most `max` characters.
fn clip_plain(s: &str, max: usize) -> String {
    clip_with(s, max, Escape::Plain)
}

/// Cuts an already rendered text after at most `max` characters, with `…`.
fn clip_chars(s: &str, max: usize) -> String {
    clip_with(s, max, Escape::Nothing)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    Mrkdwn,
    Plain,
    Nothing,
}

/// Reads only as much of `s` as it keeps, however long `s` is.
fn clip_with(s: &str, max: usize, escape: Escape) -> String {
    let mut out = String::new();
    let mut n = 0;
    // The output's length in bytes when it last left room for the `…`.
    let mut cut = 0;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let piece: &str = match c {
            '&' if escape == Escape::Mrkdwn => "&amp;",
            '<' if escape == Escape::Mrkdwn => "&lt;",
            '>' if escape == Escape::Mrkdwn => "&gt;",
            c if c.is_control() && escape != Escape::Nothing => " ",
            c => c.encode_utf8(&mut buf),
        };
        let k = n_chars(piece);
        if n + k > max {
            out.truncate(cut);
            if max > 0 {
                out.push('…');
            }
            return out;
        }
        out.push_str(piece);
        n += k;
        if n < max {
            cut = out.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A readable dump of a payload: `text:`, then one entry per block.
    fn dump(payload: &Value) -> String {
        let mut out = format!("text: {}\n", payload["text"].as_str().unwrap());
        for block in payload["blocks"].as_array().unwrap() {
            match block["type"].as_str().unwrap() {
                "header" => out.push_str(&format!("header: {}\n", block["text"]["text"].as_str().unwrap())),
                "context" => out.push_str(&format!("context: {}\n", block["elements"][0]["text"].as_str().unwrap())),
                "section" => out.push_str(&format!("section:\n{}\n", block["text"]["text"].as_str().unwrap())),
                "actions" => {
                    let buttons: Vec<String> = block["elements"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| format!("{} <{}>", b["text"]["text"].as_str().unwrap(), b["url"].as_str().unwrap()))
                        .collect();
                    out.push_str(&format!("actions: {}\n", buttons.join(" | ")));
                }
                other => panic!("unexpected block {other}"),
            }
        }
        out
    }

    /// The payload is within limits and dumps to `expected` (leading newline ignored).
    fn check(payload: Value, expected: &str) {
        assert_eq!(check_limits(&payload), Ok(()), "{payload:#}");
        let actual = dump(&payload);
        assert_eq!(actual, expected.trim_start_matches('\n'), "actual:\n{actual}");
    }

    fn pkg(name: &str, installed: &str, fixed: Option<&str>, state: Option<&str>) -> PackageLine {
        PackageLine {
            name: name.into(),
            installed: installed.into(),
            fixed: fixed.map(Into::into),
            fix_state: state.map(Into::into),
        }
    }

    fn libssl() -> PackageLine {
        pkg("libssl3", "3.0.11-1", Some("3.0.13-1"), Some("installable"))
    }

    fn image(reference: &str, packages: Vec<PackageLine>) -> ImageLine {
        ImageLine { reference: reference.into(), packages }
    }

    fn notice(kind: NoticeKind, groups: Vec<ImageGroup>, n_images: usize) -> AdvisoryNotice {
        AdvisoryNotice {
            advisory_id: "DSA-5678-1".into(),
            feed: "debian-dsa".into(),
            title: Some("openssl security update".into()),
            severity: Severity::High,
            aliases: vec!["CVE-2024-0727".into(), "CVE-2024-2511".into()],
            advisory_url: Some("https://www.debian.org/security/2024/dsa-5678".into()),
            api_url: Some("https://cascade.example/v1/advisories/DSA-5678-1/affected-images".into()),
            kind,
            groups,
            n_images,
            rebuilds: Vec::new(),
        }
    }

    /// `n` groups of one root with `per_group - 1` children, each image with libssl3.
    fn many_images(n_groups: usize, per_group: usize) -> Vec<ImageGroup> {
        (0..n_groups)
            .map(|g| ImageGroup {
                root: image(&format!("registry.example/base/img-{g}:1"), vec![libssl()]),
                children: (1..per_group)
                    .map(|c| image(&format!("registry.example/apps/img-{g}-{c}:1"), vec![libssl()]))
                    .collect(),
            })
            .collect()
    }

    fn rebuild(status: &str) -> RebuildNotice {
        RebuildNotice {
            rebuild_id: 42,
            image: "registry.example/base/debian:12".into(),
            status: status.into(),
            causes: vec!["DSA-5678-1 (libssl3)".into()],
            trigger: "github:org/base-images".into(),
            parent: Some("docker.io/library/debian:12".into()),
            old_digest: Some(format!("sha256:{}", "1a2b3c4d5e6f7a8b".repeat(4))),
            new_digest: None,
            error: None,
            children: vec!["registry.example/apps/api:1.4".into(), "registry.example/apps/web:2".into()],
            api_url: Some("https://cascade.example/v1/rebuilds/42".into()),
        }
    }

    /// Section texts of a payload, in order.
    fn sections(payload: &Value) -> Vec<String> {
        payload["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "section")
            .map(|b| b["text"]["text"].as_str().unwrap().to_string())
            .collect()
    }

    /// Image lines shown (roots in bold, children with `↳`) and the closing count, if any.
    fn shown_images(payload: &Value) -> (Vec<String>, Option<usize>) {
        // The listing: every section but the summary and the rebuilds.
        let listing: Vec<String> =
            sections(payload).into_iter().skip(1).filter(|s| !s.contains(" triggered*\n")).collect();
        let text = listing.join("\n");
        let images = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix('*')
                    .and_then(|l| l.strip_suffix('*'))
                    .filter(|r| r.contains('/'))
                    .or_else(|| l.trim_start().strip_prefix("↳ "))
            })
            .map(str::to_string)
            .collect();
        let last = text.lines().last().unwrap_or("");
        let more = last
            .strip_prefix("…and ")
            .and_then(|l| l.strip_suffix(" more images").or_else(|| l.strip_suffix(" more image")))
            .map(|n| n.parse().unwrap());
        (images, more)
    }

    #[test]
    fn announcement_lists_groups_rebuilds_and_links() {
        let mut n = notice(
            NoticeKind::Announcement,
            vec![
                ImageGroup {
                    root: image("registry.example/base/debian:12", vec![libssl()]),
                    children: vec![
                        image("registry.example/apps/api:1.4", vec![libssl(), pkg("openssl", "3.0.11-1", None, None)]),
                        image(
                            "registry.example/apps/web:2",
                            vec![pkg("libssl3", "3.0.11-1", Some("3.0.13-1"), Some("not-yet"))],
                        ),
                    ],
                },
                ImageGroup {
                    root: image(
                        "registry.example/tools/cli:3",
                        vec![pkg("libssl3", "3.0.9-1", Some("3.0.13-1"), Some("unknown"))],
                    ),
                    children: vec![],
                },
            ],
            14,
        );
        n.rebuilds = vec![
            RebuildLine { image: "registry.example/base/debian:12".into(), status: "requested".into() },
            RebuildLine { image: "registry.example/tools/cli:3".into(), status: "pending".into() },
        ];
        check(
            advisory_message(&n),
            r"
text: HIGH: DSA-5678-1 (libssl3, openssl) affects 14 images; 2 rebuilds triggered
header: DSA-5678-1: openssl security update
context: *HIGH* | DSA-5678-1 | CVE-2024-0727, CVE-2024-2511
section:
*openssl security update*
DSA-5678-1 (libssl3, openssl) affects 14 images.
Feed: debian-dsa
section:
*Affected images*
*registry.example/base/debian:12*
• libssl3 3.0.11-1 → fixed in 3.0.13-1 (installable)
    ↳ registry.example/apps/api:1.4
        • libssl3 3.0.11-1 → fixed in 3.0.13-1 (installable)
        • openssl 3.0.11-1 → no fix yet
    ↳ registry.example/apps/web:2
        • libssl3 3.0.11-1 → fixed in 3.0.13-1 (not installable yet)
*registry.example/tools/cli:3*
• libssl3 3.0.9-1 → fixed in 3.0.13-1 (installability unknown)
…and 10 more images
section:
*2 rebuilds triggered*
• registry.example/base/debian:12 — requested
• registry.example/tools/cli:3 — pending
actions: View advisory <https://www.debian.org/security/2024/dsa-5678> | Affected images in cascade <https://cascade.example/v1/advisories/DSA-5678-1/affected-images>
",
        );
    }

    #[test]
    fn follow_ups_say_what_changed() {
        let one = || many_images(1, 1);
        let cases: &[(NoticeKind, Vec<ImageGroup>, usize, &str, &str)] = &[
            (
                NoticeKind::NewImages,
                many_images(1, 3),
                3,
                "HIGH: 3 more images affected by DSA-5678-1 (libssl3)",
                "3 more images affected by DSA-5678-1 (libssl3)",
            ),
            (
                NoticeKind::NewImages,
                one(),
                1,
                "HIGH: 1 more image affected by DSA-5678-1 (libssl3)",
                "1 more image affected by DSA-5678-1 (libssl3)",
            ),
            (
                NoticeKind::Resolved,
                one(),
                5,
                "HIGH: DSA-5678-1 (libssl3) resolved in 5 images",
                "DSA-5678-1 (libssl3) resolved in 5 images",
            ),
            (
                NoticeKind::FixInstallable,
                one(),
                2,
                "HIGH: fix now installable for DSA-5678-1 (libssl3) in 2 images",
                "Fix now installable for DSA-5678-1 (libssl3) in 2 images",
            ),
            // n_images below what the groups list counts the listed ones.
            (
                NoticeKind::Resolved,
                many_images(2, 2),
                0,
                "HIGH: DSA-5678-1 (libssl3) resolved in 4 images",
                "DSA-5678-1 (libssl3) resolved in 4 images",
            ),
        ];
        for (kind, groups, n_images, text, header) in cases {
            let payload = advisory_message(&notice(*kind, groups.clone(), *n_images));
            assert_eq!(check_limits(&payload), Ok(()));
            assert_eq!(payload["text"], *text, "{kind:?}");
            assert_eq!(payload["blocks"][0]["text"]["text"], *header, "{kind:?}");
        }
    }

    #[test]
    fn follow_up_headings_and_missing_parts() {
        let mut n = notice(NoticeKind::Resolved, many_images(1, 1), 1);
        n.title = None;
        n.aliases = Vec::new();
        n.advisory_url = None;
        n.api_url = Some("javascript:alert(1)".into());
        check(
            advisory_message(&n),
            r"
text: HIGH: DSA-5678-1 (libssl3) resolved in 1 image
header: DSA-5678-1 (libssl3) resolved in 1 image
context: *HIGH* | DSA-5678-1
section:
DSA-5678-1 (libssl3) resolved in 1 image.
Feed: debian-dsa
section:
*Resolved in*
*registry.example/base/img-0:1*
• libssl3 3.0.11-1 → fixed in 3.0.13-1 (installable)
",
        );
    }

    #[test]
    fn rebuild_messages_per_status() {
        let digest = format!("sha256:{}", "9f8e7d6c5b4a".repeat(5));
        let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
            ("requested", None, None, "Rebuild requested: registry.example/base/debian:12"),
            (
                "confirmed",
                Some(&digest),
                None,
                "Rebuild confirmed: registry.example/base/debian:12 (new digest sha256:9f8e7d6c5b4a…)",
            ),
            ("confirmed", None, None, "Rebuild confirmed: registry.example/base/debian:12"),
            (
                "failed",
                None,
                Some("HTTP 422 <from> CI"),
                "Rebuild failed: registry.example/base/debian:12 — HTTP 422 &lt;from&gt; CI",
            ),
            ("failed", None, None, "Rebuild failed: registry.example/base/debian:12"),
            ("timed-out", None, None, "Rebuild timed out: registry.example/base/debian:12"),
            ("pending", None, None, "Rebuild pending: registry.example/base/debian:12"),
        ];
        for (status, new_digest, error, headline) in cases {
            let mut r = rebuild(status);
            r.new_digest = new_digest.map(Into::into);
            r.error = error.map(Into::into);
            let payload = rebuild_message(&r);
            assert_eq!(check_limits(&payload), Ok(()));
            let expected = format!("{headline}; cause: DSA-5678-1 (libssl3); 2 images wait for it");
            assert_eq!(payload["text"], expected, "{status}");
            // The header is plain text: not escaped.
            assert_eq!(payload["blocks"][0]["text"]["text"], headline.replace("&lt;", "<").replace("&gt;", ">"));
        }
    }

    #[test]
    fn rebuild_message_shows_causes_digests_and_next_step() {
        let mut r = rebuild("confirmed");
        r.new_digest = Some(format!("sha256:{}", "9f8e7d6c5b4a".repeat(5)));
        r.causes.push("base image docker.io/library/debian:12 updated".into());
        check(
            rebuild_message(&r),
            r"
text: Rebuild confirmed: registry.example/base/debian:12 (new digest sha256:9f8e7d6c5b4a…); cause: DSA-5678-1 (libssl3), base image docker.io/library/debian:12 updated; 2 images wait for it
header: Rebuild confirmed: registry.example/base/debian:12 (new digest sha256:9f8e7d6c5b4a…)
context: rebuild #42 | confirmed | trigger github:org/base-images
section:
*Causes*
• DSA-5678-1 (libssl3)
• base image docker.io/library/debian:12 updated
section:
*Parent:* docker.io/library/debian:12
*Digest:* `sha256:1a2b3c4d5e6f…` → `sha256:9f8e7d6c5b4a…`
section:
*Next in the cascade:* 2 images wait for this rebuild
• registry.example/apps/api:1.4
• registry.example/apps/web:2
actions: Rebuild in cascade <https://cascade.example/v1/rebuilds/42>
",
        );
        let mut r = rebuild("failed");
        r.causes.clear();
        r.children = vec!["registry.example/apps/api:1.4".into()];
        r.parent = None;
        r.old_digest = None;
        r.error = Some("workflow dispatch: 422\nbad ref".into());
        r.api_url = None;
        check(
            rebuild_message(&r),
            r"
text: Rebuild failed: registry.example/base/debian:12 — workflow dispatch: 422 bad ref; 1 image waits for it
header: Rebuild failed: registry.example/base/debian:12 — workflow dispatch: 422 bad ref
context: rebuild #42 | failed | trigger github:org/base-images
section:
*Error:* workflow dispatch: 422 bad ref
section:
*Next in the cascade:* 1 image waits for this rebuild
• registry.example/apps/api:1.4
",
        );
    }

    #[test]
    fn digest_lists_advisories_in_order() {
        let line = |id: &str, severity, n_images, packages: &[&str], fixable| DigestLine {
            advisory_id: id.into(),
            severity,
            n_images,
            packages: packages.iter().map(|p| p.to_string()).collect(),
            fixable,
        };
        let digest = DigestNotice {
            route: "#security".into(),
            period: "last 24 h".into(),
            items: vec![
                line("DSA-5678-1", Severity::High, 14, &["openssl", "libssl3"], true),
                line("CVE-2024-1", Severity::Critical, 1, &["a", "b", "c", "d", "e"], false),
                line("USN-1", Severity::Low, 0, &[], false),
            ],
        };
        check(
            digest_message(&digest),
            r"
text: CRITICAL: 3 advisories for #security (last 24 h); 1 with an installable fix
header: Advisory digest: #security (last 24 h)
context: *CRITICAL* | 3 advisories (1 critical, 1 high, 1 low) | last 24 h
section:
*HIGH* DSA-5678-1 — 14 images (openssl, libssl3) — fix installable
*CRITICAL* CVE-2024-1 — 1 image (a, b, c +2 more) — no installable fix
*LOW* USN-1 — 0 images — no installable fix
",
        );
        let empty = DigestNotice { route: "#security".into(), period: "last 24 h".into(), items: vec![] };
        check(
            digest_message(&empty),
            r"
text: No new advisories for #security (last 24 h)
header: Advisory digest: #security (last 24 h)
context: no advisories | last 24 h
section:
Nothing new affects the watched images.
",
        );
    }

    #[test]
    fn untrusted_text_is_escaped_for_mrkdwn_only() {
        let mut n = notice(
            NoticeKind::Announcement,
            vec![ImageGroup {
                root: image("reg.example/a&b:<1>", vec![pkg("lib<!channel>", "1&2", Some("3>2"), Some("<x>"))]),
                children: vec![],
            }],
            1,
        );
        n.advisory_id = "DSA-<1>".into();
        n.title = Some("a & b <@U123>\nsecond line".into());
        n.aliases = vec!["<!here>".into()];
        check(
            advisory_message(&n),
            r"
text: HIGH: DSA-&lt;1&gt; (lib&lt;!channel&gt;) affects 1 image
header: DSA-<1>: a & b <@U123> second line
context: *HIGH* | DSA-&lt;1&gt; | &lt;!here&gt;
section:
*a &amp; b &lt;@U123&gt; second line*
DSA-&lt;1&gt; (lib&lt;!channel&gt;) affects 1 image.
Feed: debian-dsa
section:
*Affected images*
*reg.example/a&amp;b:&lt;1&gt;*
• lib&lt;!channel&gt; 1&amp;2 → fixed in 3&gt;2 (&lt;x&gt;)
actions: View advisory <https://www.debian.org/security/2024/dsa-5678> | Affected images in cascade <https://cascade.example/v1/advisories/DSA-5678-1/affected-images>
",
        );
    }

    #[test]
    fn two_hundred_images_fit_one_message_with_exact_remainder() {
        for (n_groups, per_group) in [(200, 1), (20, 10), (1, 200), (4, 50)] {
            let payload = advisory_message(&notice(NoticeKind::Announcement, many_images(n_groups, per_group), 200));
            assert_eq!(check_limits(&payload), Ok(()), "{n_groups}x{per_group}");
            assert!(payload["text"].as_str().unwrap().starts_with("HIGH: DSA-5678-1 (libssl3) affects 200 images"));
            let (shown, more) = shown_images(&payload);
            assert!(!shown.is_empty() && shown.len() < 200, "{}", shown.len());
            assert_eq!(more, Some(200 - shown.len()), "{n_groups}x{per_group}");
            // The shown images are the first ones, in order.
            let all: Vec<String> = many_images(n_groups, per_group)
                .iter()
                .flat_map(|g| std::iter::once(&g.root).chain(&g.children))
                .map(|i| i.reference.clone())
                .collect();
            assert_eq!(shown, all[..shown.len()]);
        }
    }

    #[test]
    fn remainder_is_exact_for_every_size() {
        for n in (0..=300usize).step_by(7) {
            for per_group in [1, 3] {
                let groups = many_images(n.div_ceil(per_group), per_group);
                let n_listed: usize = groups.iter().map(|g| 1 + g.children.len()).sum();
                for n_images in [n_listed, n_listed + 5] {
                    let payload = advisory_message(&notice(NoticeKind::NewImages, groups.clone(), n_images));
                    assert_eq!(check_limits(&payload), Ok(()));
                    let (shown, more) = shown_images(&payload);
                    assert_eq!(shown.len() + more.unwrap_or(0), n_images, "n={n} per_group={per_group}");
                    assert_eq!(more.is_none(), shown.len() == n_images);
                }
            }
        }
    }

    #[test]
    fn five_thousand_images_stay_within_limits() {
        for (n_groups, per_group) in [(5000, 1), (1, 5000), (50, 100)] {
            let mut n = notice(NoticeKind::Announcement, many_images(n_groups, per_group), 5000);
            n.rebuilds = (0..5000)
                .map(|i| RebuildLine { image: format!("reg.example/img-{i}:1"), status: "requested".into() })
                .collect();
            let payload = advisory_message(&n);
            assert_eq!(check_limits(&payload), Ok(()));
            let (shown, more) = shown_images(&payload);
            assert_eq!(shown.len() + more.unwrap(), 5000);
            let rebuilds = sections(&payload).into_iter().find(|s| s.starts_with("*5000 rebuilds")).unwrap();
            let listed = rebuilds.lines().filter(|l| l.starts_with("• ")).count();
            assert!(rebuilds.ends_with(&format!("\n…and {} more rebuilds", 5000 - listed)), "{rebuilds}");
        }
    }

    #[test]
    fn pathological_lengths_stay_within_limits() {
        let huge = |c: &str, n: usize| c.repeat(n);
        let long_pkg = pkg(&huge("<", 5_000), &huge("&", 5_000), Some(&huge("9", 5_000)), Some(&huge(">", 5_000)));
        let long_image = |i: usize| image(&format!("{i}{}", huge("r/", 20_000)), vec![long_pkg.clone(); 12]);
        let groups =
            (0..10).map(|i| ImageGroup { root: long_image(i), children: (0..10).map(long_image).collect() }).collect();
        let mut n = notice(NoticeKind::FixInstallable, groups, 100_000);
        n.advisory_id = huge("D", 100_000);
        n.title = Some(huge("<t>", 100_000));
        n.aliases = (0..10_000).map(|i| format!("CVE-{i}-{}", huge("&", 1000))).collect();
        n.feed = huge("f", 100_000);
        n.advisory_url = Some(format!("https://a.example/{}", huge("x", 5_000)));
        n.rebuilds = (0..1000).map(|_| RebuildLine { image: huge("<", 10_000), status: huge(">", 10_000) }).collect();
        let payload = advisory_message(&n);
        assert_eq!(check_limits(&payload), Ok(()));
        // The too-long link has no button; the other one stays.
        assert_eq!(payload["blocks"].as_array().unwrap().last().unwrap()["elements"].as_array().unwrap().len(), 1);
        let (shown, more) = shown_images(&payload);
        assert_eq!(shown.len() + more.unwrap(), 100_000);
        assert!(sections(&payload).iter().all(|s| !s.contains("&am…") && !s.contains("&l…")));

        let mut r = rebuild("failed");
        r.image = huge("<", 100_000);
        r.error = Some(huge("e\n", 100_000));
        r.causes = (0..1000).map(|_| huge("c", 1000)).collect();
        r.children = (0..10_000).map(|i| format!("{i}{}", huge(">", 300))).collect();
        r.trigger = huge("t", 100_000);
        r.old_digest = Some(huge("`", 1000));
        r.new_digest = Some(format!("{}:{}", huge("a", 1000), huge("b", 1000)));
        let payload = rebuild_message(&r);
        assert_eq!(check_limits(&payload), Ok(()));
        let all = sections(&payload);
        let next = all[all.iter().position(|s| s.starts_with("*Next")).unwrap()..].join("\n");
        let listed = next.lines().filter(|l| l.starts_with("• ")).count();
        assert!(next.ends_with(&format!("…and {} more images", 10_000 - listed)), "{next}");

        let digest = DigestNotice {
            route: huge("#", 100_000),
            period: huge("p", 100_000),
            items: (0..5000)
                .map(|i| DigestLine {
                    advisory_id: format!("{i}{}", huge("<", 1000)),
                    severity: Severity::Medium,
                    n_images: usize::MAX,
                    packages: vec![huge("p", 1000); 10],
                    fixable: i % 2 == 0,
                })
                .collect(),
        };
        let payload = digest_message(&digest);
        assert_eq!(check_limits(&payload), Ok(()));
        let listed: usize =
            sections(&payload).iter().map(|s| s.lines().filter(|l| l.starts_with("*MEDIUM*")).count()).sum();
        assert!(sections(&payload).last().unwrap().ends_with(&format!("…and {} more advisories", 5000 - listed)));
    }

    #[test]
    fn empty_groups_and_counts() {
        // Nothing listed but images counted: only the count.
        let payload = advisory_message(&notice(NoticeKind::Announcement, vec![], 5));
        assert_eq!(sections(&payload)[1], "*Affected images*\n…and 5 more images");
        // Nothing at all: no listing section.
        let payload = advisory_message(&notice(NoticeKind::Resolved, vec![], 0));
        assert_eq!(check_limits(&payload), Ok(()));
        assert_eq!(sections(&payload).len(), 1);
        // Roots without packages or children, and an empty reference.
        let groups = vec![
            ImageGroup { root: image("reg.example/a:1", vec![]), children: vec![] },
            ImageGroup { root: image("", vec![]), children: vec![image(" ", vec![])] },
        ];
        let payload = advisory_message(&notice(NoticeKind::Announcement, groups, 3));
        assert_eq!(
            sections(&payload)[1],
            "*Affected images*\n*reg.example/a:1*\n*(no reference)*\n    ↳ (no reference)"
        );
        // Many packages in one image are capped with their own count.
        let groups = vec![ImageGroup { root: image("reg.example/a:1", vec![libssl(); 11]), children: vec![] }];
        let payload = advisory_message(&notice(NoticeKind::Announcement, groups, 1));
        let listing = &sections(&payload)[1];
        assert_eq!(listing.lines().filter(|l| l.starts_with("• libssl3")).count(), MAX_PACKAGES_PER_IMAGE);
        assert!(listing.ends_with("\n• …and 3 more packages"), "{listing}");
    }

    #[test]
    fn grouping_order_is_preserved() {
        let groups = vec![
            ImageGroup {
                root: image("reg.example/z-base:1", vec![]),
                children: vec![image("reg.example/z-child:1", vec![]), image("reg.example/a-child:1", vec![])],
            },
            ImageGroup {
                root: image("reg.example/a-base:1", vec![]),
                children: vec![image("reg.example/m-child:1", vec![])],
            },
        ];
        let payload = advisory_message(&notice(NoticeKind::Announcement, groups, 5));
        assert_eq!(
            sections(&payload)[1],
            "*Affected images*\n*reg.example/z-base:1*\n    ↳ reg.example/z-child:1\n    ↳ reg.example/a-child:1\n\
             *reg.example/a-base:1*\n    ↳ reg.example/m-child:1"
        );
    }

    #[test]
    fn check_limits_rejects_what_slack_rejects() {
        let section = |n: usize| json!({ "type": "section", "text": { "type": "mrkdwn", "text": "x".repeat(n) } });
        let cases: Vec<(Value, Result<(), &str>)> = vec![
            (json!({ "text": "hi" }), Ok(())),
            (json!({ "text": "", "blocks": [section(3000)] }), Ok(())),
            (json!({}), Err("neither text nor blocks")),
            (json!({ "text": " ", "blocks": [] }), Err("neither text nor blocks")),
            (json!([]), Err("payload is not a JSON object")),
            (json!({ "text": "x".repeat(40_001) }), Err("text has 40001 characters, more than 40000")),
            (
                json!({ "text": "x", "blocks": [section(3001)] }),
                Err("block 0: section text has 3001 characters (1..=3000)"),
            ),
            (json!({ "text": "x", "blocks": vec![section(1); 51] }), Err("51 blocks, more than 50")),
            (
                json!({ "text": "x", "blocks": vec![section(3000); 5] }),
                Err("blocks hold 15000 characters of text, more than 12000"),
            ),
            (
                json!({ "text": "x", "blocks": [{ "type": "header", "text": { "type": "plain_text", "text": "h".repeat(151) } }] }),
                Err("block 0: header text has 151 characters (1..=150)"),
            ),
            (json!({ "text": "x", "blocks": [{ "type": "image" }] }), Err("block 0: unexpected block type \"image\"")),
        ];
        for (payload, expected) in cases {
            assert_eq!(check_limits(&payload), expected.map_err(str::to_string), "{payload}");
        }
    }

    #[test]
    fn clipping_never_splits_an_escape() {
        assert_eq!(clip("a&b", 3), "a…");
        assert_eq!(clip("a&b", 7), "a&amp;b");
        assert_eq!(clip("a&b", 6), "a…");
        assert_eq!(clip("a&bc", 7), "a&amp;…");
        assert_eq!(clip("<<<", 5), "&lt;…");
        assert_eq!(clip("x\ny\tz", 10), "x y z");
        assert_eq!(clip_plain("<b>\r\n", 10), "<b>  ");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(short_digest("sha256:0123456789abcdef"), "sha256:0123456789ab…");
        assert_eq!(short_digest("`x`"), "x");
    }

    #[test]
    fn notices_serialize_with_kebab_case_kinds() {
        let value = serde_json::to_value(notice(NoticeKind::FixInstallable, vec![], 0)).unwrap();
        assert_eq!(value["kind"], "fix-installable");
        assert_eq!(value["severity"], "high");
    }
}
