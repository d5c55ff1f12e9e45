//! The web page of a summary: served live by `dbtel serve` at `/` (it polls `/summary`), and
//! written static by `dbtel inspect FILE --html OUT`, with the data inside.
//!
//! Both show a [`PageData`]: the [`InspectReport`] of a [`Summary`] (the same computation as
//! `dbtel inspect`), the latest events with their warnings, and, live, the upload answers by
//! status. The page is self-contained: its HTML, CSS and script are embedded in the binary
//! (`include_str!`), its charts are plain SVG drawn by the script, and it loads nothing from
//! anywhere else. What a driver sent only ever reaches the page as data: the script puts it in
//! text nodes and attributes, never in markup, and the static page embeds it as JSON in which
//! `<`, `>` and `&` are escaped.

pub(crate) mod live;

use std::path::Path;

use serde::Serialize;
use telemetry_endpoint::{EndpointStats, UploadRoute};

use crate::inspect::{EventWarning, InspectReport, Summary};

/// The page's HTML, with `{{STYLE}}`, `{{DATA}}` and `{{SCRIPT}}` to fill.
const PAGE_HTML: &str = include_str!("assets/page.html");
/// The page's style sheet.
pub(crate) const PAGE_CSS: &str = include_str!("assets/page.css");
/// The page's script: fetches (or reads) the data and draws everything.
pub(crate) const PAGE_JS: &str = include_str!("assets/page.js");

/// How many of the latest events the page shows.
pub(crate) const RECENT_EVENTS: usize = 25;

/// The upload routes whose answers the page counts.
const UPLOAD_PATHS: [&str; 2] = ["/telemetry-ext", "/telemetry-unauth"];

/// What the page shows; served as `/summary`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PageData {
    /// `live` (from `dbtel serve`) or `capture` (from `dbtel inspect --html`).
    pub(crate) source: &'static str,
    /// The same report as `dbtel inspect --json`, its fields at the top level.
    #[serde(flatten)]
    pub(crate) report: InspectReport,
    /// The latest events, oldest first.
    pub(crate) recent_events: Vec<RecentEventData>,
    /// Answers to uploads by route and status (live only).
    pub(crate) uploads: Vec<UploadAnswers>,
    /// The endpoint's warnings by kind and path, the most frequent first (live only).
    pub(crate) warnings: Vec<WarningCount>,
    /// Every warning the endpoint counted (live only).
    pub(crate) warnings_total: u64,
    /// Uploads a fault was applied to (live only).
    pub(crate) faults_injected: u64,
    /// The fault installed now, in spec syntax (live only).
    pub(crate) active_fault: Option<String>,
}

/// One of the latest events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RecentEventData {
    /// The frontend log exactly as sent.
    pub(crate) json: String,
    /// The departures from the contract it showed.
    pub(crate) warnings: Vec<EventWarning>,
}

/// Upload requests on one route answered with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UploadAnswers {
    /// `/telemetry-ext` or `/telemetry-unauth`.
    pub(crate) route: String,
    /// The status, e.g. `200`, or `unanswered` (hung or reset by a fault).
    pub(crate) status: String,
    /// How many.
    pub(crate) count: u64,
}

/// Warnings of one kind at one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct WarningCount {
    /// The kind, e.g. `unknown_field`.
    pub(crate) kind: String,
    /// The path, log indexes written `[*]`.
    pub(crate) path: String,
    /// How many.
    pub(crate) count: u64,
}

impl PageData {
    /// The page of a capture read from `file`: the latest events' warnings are worked out now
    /// (as the endpoint would for `/telemetry-ext`); nothing is known of uploads.
    pub(crate) fn of_capture(file: &Path, summary: &Summary) -> Self {
        PageData {
            source: "capture",
            report: summary.report(file),
            recent_events: recent_events(summary),
            uploads: Vec::new(),
            warnings: Vec::new(),
            warnings_total: 0,
            faults_injected: 0,
            active_fault: None,
        }
    }

    /// The live page: `summary` as the endpoint's extension tallied it, and the endpoint's
    /// `stats`.
    pub(crate) fn live(label: &str, summary: &Summary, stats: &EndpointStats) -> Self {
        let mut uploads = Vec::new();
        for path in UPLOAD_PATHS {
            let Some(path_stats) = stats.requests.get(path) else {
                continue;
            };
            for (status, &count) in &path_stats.by_status {
                uploads.push(UploadAnswers {
                    route: path.to_owned(),
                    status: status.to_string(),
                    count,
                });
            }
            if path_stats.unanswered > 0 {
                uploads.push(UploadAnswers {
                    route: path.to_owned(),
                    status: "unanswered".to_owned(),
                    count: path_stats.unanswered,
                });
            }
        }
        let mut warnings: Vec<WarningCount> = stats
            .warnings
            .iter()
            .flat_map(|(kind, paths)| {
                paths.iter().map(move |(path, &count)| WarningCount {
                    kind: kind.clone(),
                    path: path.clone(),
                    count,
                })
            })
            .collect();
        warnings.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
        PageData {
            source: "live",
            report: summary.report(Path::new(label)),
            recent_events: recent_events(summary),
            uploads,
            warnings,
            warnings_total: stats.warnings_total,
            faults_injected: stats.faults_injected,
            active_fault: stats.active_fault.clone(),
        }
    }

    /// Events summarised.
    pub(crate) fn events(&self) -> u64 {
        self.report.events
    }
}

/// The summary's latest events; a capture line's warnings are worked out here.
fn recent_events(summary: &Summary) -> Vec<RecentEventData> {
    summary
        .recent()
        .map(|event| RecentEventData {
            json: event.json.clone(),
            warnings: event
                .warnings
                .clone()
                .unwrap_or_else(|| warnings_of(&event.json)),
        })
        .collect()
}

/// The departures of one frontend log from the contract, as a strict check of
/// `/telemetry-ext` names them.
pub(crate) fn warnings_of(json: &str) -> Vec<EventWarning> {
    match telemetry_endpoint::validate_frontend_log(json, UploadRoute::Authenticated) {
        Ok(_) => Vec::new(),
        Err(error) if error.problems.is_empty() => vec![EventWarning {
            kind: "invalid_log".to_owned(),
            path: error.path,
            message: error.message,
        }],
        Err(error) => error
            .problems
            .into_iter()
            .map(|problem| EventWarning {
                kind: problem.kind.as_str().to_owned(),
                path: problem.path,
                message: problem.message,
            })
            .collect(),
    }
}

/// The live page: style sheet and script from `/page.css` and `/page.js`, data from
/// `/summary`.
pub(crate) fn live_html() -> String {
    fill(
        PAGE_HTML,
        &[
            ("STYLE", r#"<link rel="stylesheet" href="/page.css">"#),
            ("DATA", ""),
            ("SCRIPT", r#"<script src="/page.js"></script>"#),
        ],
    )
}

/// The static page of `data`: one file, style sheet, data and script inside.
pub(crate) fn static_html(data: &PageData) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    let style = format!("<style>\n{PAGE_CSS}</style>");
    let data = format!(
        r#"<script type="application/json" id="dbtel-data">{}</script>"#,
        script_safe(&json)
    );
    let script = format!("<script>\n{PAGE_JS}</script>");
    fill(
        PAGE_HTML,
        &[("STYLE", &style), ("DATA", &data), ("SCRIPT", &script)],
    )
}

/// `json` safe inside a `<script>` element: `<`, `>`, `&` and the two JavaScript line
/// separators written as `\uXXXX` escapes (they only occur inside JSON strings, where such
/// escapes mean the same characters).
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `template` with each `{{KEY}}` replaced by its value, in one pass: what a value holds is
/// never read as a placeholder.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let filled = after.find("}}").and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (*value, end))
        });
        match filled {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_values_are_not_read_again() {
        let filled = fill(
            "a {{DATA}} b {{SCRIPT}} {{OTHER}}",
            &[("DATA", "{{SCRIPT}}"), ("SCRIPT", "js")],
        );
        assert_eq!(filled, "a {{SCRIPT}} b js {{OTHER}}");
    }

    #[test]
    fn embedded_json_cannot_end_the_script_element() {
        let json = serde_json::to_string(&serde_json::json!({
            "error_name": "</script><script>alert(1)</script>&\u{2028}"
        }))
        .unwrap();
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(
            back["error_name"],
            "</script><script>alert(1)</script>&\u{2028}"
        );
    }

    #[test]
    fn the_embedded_assets_hold_no_end_of_script_and_load_nothing_from_elsewhere() {
        assert!(!PAGE_JS.to_ascii_lowercase().contains("</script"));
        for asset in [PAGE_HTML, PAGE_CSS, PAGE_JS] {
            for remote in ["http://", "https://", "//cdn", "@import"] {
                // The SVG namespace is a name, not something fetched.
                let stripped = asset.replace("http://www.w3.org/2000/svg", "");
                assert!(!stripped.contains(remote), "{remote} in an asset");
            }
        }
        let page = live_html();
        assert!(page.contains(r#"<script src="/page.js"></script>"#));
        assert!(!page.contains("{{"));
    }
}
