//! The OpenAPI 3.1 document served at `/openapi.json`, written by hand. A test checks that
//! every routed path is described here.

use serde_json::{json, Value};

use super::routes::{DEFAULT_LIMIT, MAX_LIMIT, MAX_MAIL_BYTES};

fn error_response(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn page_of(name: &str) -> Value {
    json!({ "type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": { "type": "array", "items": schema(name) },
        "next_cursor": { "type": ["string", "null"],
                         "description": "Pass as `cursor` for the next page; null on the last page." } } })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn path(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

fn paging() -> [Value; 2] {
    [
        query(
            "limit",
            &format!("Page size (default {DEFAULT_LIMIT})."),
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }),
        ),
        query("cursor", "The `next_cursor` of the previous page.", json!({ "type": "string" })),
    ]
}

/// Responses every authenticated read shares.
fn read_errors() -> Value {
    json!({
        "400": error_response("Bad query parameters or cursor (`bad_request`)."),
        "401": error_response("Tokens are configured and none was presented (`unauthorized`)."),
        "500": error_response("Internal error (`internal`)."),
    })
}

fn with_errors(mut responses: Value, extra: &[(&str, &str)]) -> Value {
    let map = responses.as_object_mut().expect("responses are an object");
    for (k, v) in read_errors().as_object().expect("an object") {
        map.insert(k.clone(), v.clone());
    }
    for (status, description) in extra {
        map.insert(status.to_string(), error_response(description));
    }
    responses
}

fn get(summary: &str, parameters: Vec<Value>, responses: Value) -> Value {
    json!({ "get": { "summary": summary, "parameters": parameters, "responses": responses,
                     "security": [ { "bearer": ["read"] }, {} ] } })
}

fn open_get(summary: &str, responses: Value) -> Value {
    json!({ "get": { "summary": summary, "responses": responses, "security": [] } })
}

pub fn document() -> Value {
    let image_platform = query(
        "platform",
        "os/arch[/variant]; needed when the reference was scanned for several platforms.",
        json!({ "type": "string" }),
    );
    let severity = query(
        "severity",
        "Minimum severity; findings of unknown severity are left out when set.",
        json!({ "type": "string", "enum": ["negligible", "low", "medium", "high", "critical"] }),
    );
    let fixable = query("fixable", "true: only findings with a fixed version.", json!({ "type": "boolean" }));
    let reference = path("reference", "Image reference, percent-encoded (`registry%3A5000%2Fteam%2Fbase%3A1`).");

    let mut advisories_params = vec![
        query("feed", "Only this feed's advisories.", json!({ "type": "string" })),
        query("q", "Only ids starting with this (case-sensitive).", json!({ "type": "string" })),
    ];
    advisories_params.extend(paging());
    let mut package_params = vec![
        path("name", "Binary or source package name."),
        query(
            "version_below",
            "Only packages whose installed version compares below this one with their ecosystem's \
             comparator (binary version when the binary name matched, else the source version).",
            json!({ "type": "string" }),
        ),
    ];
    package_params.extend(paging());
    let mut images_params = vec![
        query("distro", "Only images of this distribution (os-release ID).", json!({ "type": "string" })),
        query("release", "Only images of this release (normalised: 12, 22.04, 3.19, 9).", json!({ "type": "string" })),
    ];
    images_params.extend(paging());
    let mut findings_params = vec![
        severity.clone(),
        fixable.clone(),
        query("image", "Only findings of this image reference.", json!({ "type": "string" })),
        image_platform.clone(),
        query("distro", "Only findings in images of this distribution.", json!({ "type": "string" })),
    ];
    findings_params.extend(paging());

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cascade",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Which container images hold which packages, and which advisories touch them. \
                Errors are `{\"error\": {\"code\", \"message\"}}` with the codes bad_request, unauthorized, \
                forbidden, not_found, method_not_allowed, payload_too_large, unsupported_media_type, internal, \
                unavailable. With tokens configured, every route but /healthz, /readyz and /openapi.json needs \
                a bearer token; POST /v1/mail needs one of scope write."
        },
        "paths": {
            "/healthz": open_get("Liveness: answers without touching the database.",
                json!({ "200": ok("Alive.", schema("Status")) })),
            "/readyz": open_get("Readiness: the database answers.",
                json!({ "200": ok("Ready.", schema("Status")), "503": error_response("The database does not answer (`unavailable`).") })),
            "/metrics": get("Prometheus metrics (text format 0.0.4).", vec![],
                with_errors(json!({ "200": { "description": "Metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } } }), &[])),
            "/openapi.json": open_get("This document.",
                json!({ "200": ok("The OpenAPI document.", json!({ "type": "object" })) })),
            "/v1/advisories": get("List advisories by feed and id.", advisories_params,
                with_errors(json!({ "200": ok("A page of advisories.", page_of("AdvisorySummary")) }), &[])),
            "/v1/advisories/{id}": get("One advisory id: each feed's record, the advisories naming it as an alias, affected entries.",
                vec![path("id", "Advisory id or alias: CVE-2024-1234, DSA-5678-1, RHSA-2024:1234, USN-6409-1.")],
                with_errors(json!({ "200": ok("The advisory.", schema("Advisory")) }), &[("404", "No feed knows the id (`not_found`).")])),
            "/v1/advisories/{id}/affected-images": get(
                "Images affected by an advisory, by its id or by an alias, with the matched packages.",
                vec![path("id", "Advisory id or alias.")],
                with_errors(json!({ "200": ok("Affected images.", schema("AffectedImages")) }), &[("404", "No feed knows the id (`not_found`).")])),
            "/v1/packages/{name}/images": get("Images holding a package by binary or source name.", package_params,
                with_errors(json!({ "200": ok("A page of images with the matching packages.", page_of("ImagePackages")) }), &[])),
            "/v1/images": get("List scanned images.", images_params,
                with_errors(json!({ "200": ok("A page of images.", page_of("Image")) }), &[])),
            "/v1/images/{reference}/packages": get("An image's installed packages.", vec![reference.clone(), image_platform.clone()],
                with_errors(json!({ "200": ok("The image and its packages.", schema("ImageInventory")) }), &[("404", "No such image (`not_found`).")])),
            "/v1/images/{reference}/graph": get(
                "Where an image sits in the image graph: its parent (from config, annotation or layer-prefix inference), the chain above it, the images built on it, and whether each is built on its parent's current layers.",
                vec![reference.clone()],
                with_errors(json!({ "200": ok("The image's place in the graph.", schema("ImageGraph")) }), &[("404", "The reference is neither watched nor indexed (`not_found`).")])),
            "/v1/rebuilds": get("Rebuild requests, newest first, with their causes, trigger and outcome.",
                vec![query("image", "Only rebuilds of this image reference.", json!({ "type": "string" })),
                     query("limit", "At most this many (default 100, at most 1000).", json!({ "type": "integer", "minimum": 1 }))],
                with_errors(json!({ "200": ok("Rebuilds.", json!({ "type": "object", "properties": { "items": { "type": "array", "items": schema("Rebuild") } } })) }), &[])),
            "/v1/notifications": get("The notification outbox, newest first: route, subject, kind, status, attempts, last error and the exact body (never a webhook URL).",
                vec![query("status", "pending, delivered or dead.", json!({ "type": "string", "enum": ["pending", "delivered", "dead"] })),
                     query("route", "Only this route's messages.", json!({ "type": "string" })),
                     query("limit", "At most this many (default 100, at most 1000).", json!({ "type": "integer", "minimum": 1 }))],
                with_errors(json!({ "200": ok("Messages.", json!({ "type": "object", "properties": { "items": { "type": "array", "items": schema("Notification") } } })) }), &[])),
            "/v1/images/{reference}/vulnerabilities": get(
                "An image's findings, and whether any feed covers its release.",
                vec![reference, image_platform, severity, fixable],
                with_errors(json!({ "200": ok("The image's findings.", schema("Vulnerabilities")) }), &[("404", "No such image (`not_found`).")])),
            "/v1/findings": get("List findings (keyset pagination in a stable order).", findings_params,
                with_errors(json!({ "200": ok("A page of findings.", page_of("Finding")) }), &[("404", "The `image` filter names no image (`not_found`).")])),
            "/v1/mail": { "post": {
                "summary": "Store a raw RFC 822 advisory mail (DSA, DLA, USN, RHSA) like `cascade mail import`.",
                "security": [ { "bearer": ["write"] }, {} ],
                "requestBody": { "required": true, "content": {
                    "message/rfc822": { "schema": { "type": "string", "maxLength": MAX_MAIL_BYTES } },
                    "text/plain": { "schema": { "type": "string", "maxLength": MAX_MAIL_BYTES } } } },
                "responses": with_errors(json!({
                    "202": ok("The message's advisories were stored.", schema("Mail")),
                    "200": ok("The message is not an advisory; `reason` says why.", schema("Mail")),
                }), &[
                    ("403", "The token may only read (`forbidden`)."),
                    ("413", &format!("The body is over {MAX_MAIL_BYTES} bytes (`payload_too_large`).")),
                    ("415", "Not message/rfc822 or text/plain (`unsupported_media_type`)."),
                ]),
            } },
            "/v1/registry-events": { "post": {
                "summary": "The distribution registry's notification envelope (`notifications.endpoints`). Each manifest push of a watched tag makes the watcher poll it now; the digest is always verified with HEAD.",
                "security": [ { "bearer": ["write"] }, {} ],
                "requestBody": { "required": true, "content": {
                    "application/vnd.docker.distribution.events.v2+json": { "schema": { "type": "object" } },
                    "application/json": { "schema": { "type": "object" } } } },
                "responses": with_errors(json!({
                    "202": ok("Accepted: how many pushes it held and how many watched tags they named.", json!({ "type": "object", "properties": {
                        "n_pushes": { "type": "integer" }, "n_watched_tags": { "type": "integer" } } })),
                }), &[
                    ("403", "The token may only read (`forbidden`)."),
                    ("413", "The body is over 1 MiB (`payload_too_large`)."),
                    ("415", "Not a registry event envelope (`unsupported_media_type`)."),
                ]),
            } },
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        }
    })
}

fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let text_or_null = json!({ "type": ["string", "null"] });
    let status = json!({ "type": "string",
        "enum": ["fixed", "unfixed", "not-affected", "will-not-fix", "deferred", "end-of-life", "undetermined"] });
    let image = json!({ "type": "object", "properties": {
        "reference": text, "platform": text, "manifest_digest": text, "distro": text_or_null,
        "release": text_or_null, "n_packages": { "type": "integer" } } });
    let package = json!({ "type": "object", "properties": {
        "name": text, "version": text, "arch": text, "source_name": text, "source_version": text,
        "ecosystem": { "type": "string", "enum": ["dpkg", "apk", "rpm"] }, "module": text,
        "layer": { "type": "string", "description": "The layer that introduced the package." },
        "matched_by": { "type": "string", "enum": ["binary", "source"] } } });
    let advisory_ref = json!({ "type": "object", "properties": { "feed": text, "advisory_id": text } });
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "enum": super::error::ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>() },
                "message": text } } } },
        "Status": { "type": "object", "properties": { "status": text } },
        "AdvisorySummary": { "type": "object", "properties": {
            "id": text, "feed": text, "title": text_or_null, "severity": text_or_null,
            "published": text_or_null, "modified": text_or_null, "url": text_or_null } },
        "Advisory": { "type": "object", "properties": {
            "id": text,
            "records": { "type": "array", "items": { "type": "object", "properties": {
                "feed": text, "id": text, "aliases": { "type": "array", "items": text }, "title": text_or_null,
                "severity": text_or_null, "published": text_or_null, "modified": text_or_null, "url": text_or_null,
                "document_url": text_or_null, "fetched_at": text } } },
            "named_by": { "type": "array", "items": advisory_ref },
            "affected": { "type": "array", "items": { "type": "object", "properties": {
                "feed": text, "advisory_id": text, "distro": text, "release": text, "package": text,
                "kind": { "type": "string", "enum": ["source", "binary"] }, "status": status,
                "fixed_version": text_or_null, "scheme": text, "module": text_or_null,
                "linked_to": { "oneOf": [advisory_ref, { "type": "null" }] } } } } } },
        "AffectedImages": { "type": "object", "properties": {
            "advisory": text, "n_images": { "type": "integer" },
            "images": { "type": "array", "items": { "type": "object", "properties": {
                "reference": text, "platform": text, "manifest_digest": text, "distro": text_or_null,
                "release": text_or_null,
                "packages": { "type": "array", "items": { "type": "object", "properties": {
                    "name": text, "version": text, "arch": text, "source_name": text, "source_version": text,
                    "status": status, "fixed_version": text_or_null, "feed": text, "advisory_id": text } } } } } } } },
        "Image": image,
        "Package": package,
        "ImagePackages": { "allOf": [ schema("Image"), { "type": "object", "properties": {
            "packages": { "type": "array", "items": schema("Package") } } } ] },
        "ImageInventory": { "type": "object", "properties": {
            "image": schema("Image"), "packages": { "type": "array", "items": schema("Package") } } },
        "Finding": { "type": "object", "properties": {
            "image": schema("Image"), "package": schema("Package"), "advisory_id": text,
            "aliases": { "type": "array", "items": text }, "feed": text,
            "severity": { "type": "string", "enum": ["unknown", "negligible", "low", "medium", "high", "critical"] },
            "status": status, "fixed_version": text_or_null } },
        "Vulnerabilities": { "type": "object", "properties": {
            "image": schema("Image"),
            "covered": { "type": "boolean", "description": "false when no feed has entries for the image's release (or its OS is unknown): no findings then means nothing." },
            "coverage": { "type": "string", "enum": ["covered", "uncovered", "unknown-os"] },
            "n_findings": { "type": "integer" },
            "findings": { "type": "array", "items": schema("Finding") } } },
        "GraphEntry": { "type": "object", "properties": {
            "reference": text, "digest": text_or_null, "parent": text_or_null,
            "parent_source": { "type": ["string", "null"], "enum": ["config", "annotation", "inferred", null] },
            "freshness": { "type": ["string", "null"], "enum": ["current", "stale", "unknown", null] },
            "watched": { "type": "boolean" }, "trigger": text_or_null,
            "children": { "type": "array", "items": text } } },
        "ImageGraph": { "type": "object", "properties": {
            "image": { "$ref": "#/components/schemas/GraphEntry" },
            "ancestors": { "type": "array", "items": { "$ref": "#/components/schemas/GraphEntry" } },
            "children": { "type": "array", "items": { "$ref": "#/components/schemas/GraphEntry" } } } },
        "Notification": { "type": "object", "properties": {
            "id": { "type": "integer" }, "route": text, "subject": text,
            "kind": { "type": "string", "enum": ["announcement", "new-images", "resolved", "fix-installable", "rebuild", "digest"] },
            "status": { "type": "string", "enum": ["pending", "delivered", "dead"] },
            "n_attempts": { "type": "integer" }, "created_at": text, "delivered_at": text_or_null,
            "next_attempt_at": text_or_null, "last_error": text_or_null, "payload": { "type": "object" } } },
        "Rebuild": { "type": "object", "properties": {
            "id": { "type": "integer" }, "image": text,
            "status": { "type": "string", "enum": ["pending", "requested", "confirmed", "failed", "timed-out"] },
            "trigger": text,
            "causes": { "type": "array", "items": { "type": "object", "properties": {
                "kind": { "type": "string", "enum": ["parent-digest-changed", "advisory-fix-installable"] },
                "key": text, "advisory_id": text, "severity": text, "detail": { "type": "object" }, "observed_at": text } } },
            "parent": text_or_null, "old_parent_digest": text_or_null, "new_parent_digest": text_or_null,
            "old_digest": text_or_null, "new_digest": text_or_null, "n_attempts": { "type": "integer" },
            "created_at": text, "requested_at": text_or_null, "finished_at": text_or_null,
            "next_attempt_at": text_or_null, "response": text_or_null, "error": text_or_null } },
        "Mail": { "type": "object", "properties": {
            "stored": { "type": "boolean" }, "reason": text, "advisories": { "type": "array", "items": text },
            "changes": { "type": "object", "properties": {
                "n_advisories": { "type": "integer" }, "n_added": { "type": "integer" },
                "n_changed": { "type": "integer" }, "n_withdrawn": { "type": "integer" } } } } },
    })
}
