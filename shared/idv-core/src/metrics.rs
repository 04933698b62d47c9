//! This process's figures in the Prometheus text format (`GET /metrics` of `idv serve`):
//! requests by route and status, latency per route, verifications by outcome and detail code
//! with their model time and each part's, callback attempts by result. Labels hold route templates, methods,
//! statuses and codes — never an id, a name or a number from a request.
//!
//! On AWS (or wherever [`emit_emf`] is called) each figure is also written to stdout as a
//! CloudWatch embedded-metric-format line, which Lambda's log pipeline turns into metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Default, Clone)]
struct Histogram {
    /// Observations at or below each bucket's bound (not cumulative; summed when rendered).
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.counts[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    outcomes: BTreeMap<&'static str, u64>,
    codes: BTreeMap<String, u64>,
    verification: Histogram,
    stages: BTreeMap<&'static str, Histogram>,
    callbacks: BTreeMap<&'static str, u64>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut r = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut r)
}

/// The CloudWatch namespace of the embedded-metric lines, once [`emit_emf`] was called.
static EMF: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// From now on also writes every figure to stdout as a CloudWatch embedded-metric-format
/// (EMF) line in `namespace`.
pub fn emit_emf(namespace: &str) {
    let _ = EMF.set(namespace.to_string());
}

/// A metric of an EMF line: name, CloudWatch unit, value.
type Figure<'a> = (&'a str, &'static str, f64);

/// One EMF line in `namespace`, at `at_ms`: `dimensions` (name, value) and `figures`.
fn emf_line(
    namespace: &str,
    at_ms: u64,
    dimensions: &[(&str, &str)],
    figures: &[Figure],
) -> String {
    let names: Vec<&str> = dimensions.iter().map(|d| d.0).collect();
    let metrics: Vec<serde_json::Value> = figures
        .iter()
        .map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit}))
        .collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [names], "Metrics": metrics}],
        }
    });
    for (name, value) in dimensions {
        line[*name] = serde_json::Value::from(*value);
    }
    for (name, _, value) in figures {
        line[*name] = serde_json::Value::from(*value);
    }
    line.to_string()
}

/// Writes an EMF line when [`emit_emf`] was called.
fn emit(dimensions: &[(&str, &str)], figures: &[Figure]) {
    if let Some(ns) = EMF.get() {
        let line = emf_line(ns, idv_store::now_ms(), dimensions, figures);
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// One answered request: its method, route template (e.g. `/v0.2/full-id-verification/{id}`;
/// `unmatched` for unknown routes), status and time.
pub fn request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let method = method_label(method);
    with(|r| {
        *r.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        r.latency
            .entry(route.to_string())
            .or_default()
            .observe(elapsed.as_secs_f64());
    });
    emit(
        &[("Route", route), ("Status", &status.to_string())],
        &[
            ("Requests", "Count", 1.0),
            ("Latency", "Milliseconds", elapsed.as_secs_f64() * 1000.0),
        ],
    );
}

/// A request method as a label: the standard methods by name, any other `OTHER` (a made-up
/// method, which anyone may send, must not add a series).
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

/// One finished verification: its outcome, its detail codes and its model time.
pub fn verification(v: &idv_pipeline::Verification) {
    use idv_pipeline::decision::Outcome;
    let outcome = match v.decision.outcome() {
        Outcome::Approved => "approved",
        Outcome::Review => "review",
        Outcome::Rejected => "rejected",
    };
    with(|r| {
        *r.outcomes.entry(outcome).or_default() += 1;
        for d in &v.decision.details {
            *r.codes.entry(d.code.clone()).or_default() += 1;
        }
        r.verification.observe(v.elapsed_ms / 1000.0);
        for &(stage, ms) in &v.stages_ms {
            r.stages.entry(stage).or_default().observe(ms / 1000.0);
        }
    });
    emit(
        &[("Outcome", outcome)],
        &[
            ("Verifications", "Count", 1.0),
            ("VerificationTime", "Milliseconds", v.elapsed_ms),
        ],
    );
    for d in &v.decision.details {
        emit(&[("Code", &d.code)], &[("DecisionDetails", "Count", 1.0)]);
    }
    for &(stage, ms) in &v.stages_ms {
        emit(&[("Stage", stage)], &[("StageTime", "Milliseconds", ms)]);
    }
}

/// One callback delivery attempt by its result: `delivered`, `refused`, `retrying` or
/// `dead_lettered` (the last attempt failed).
pub fn callback(result: &'static str) {
    with(|r| *r.callbacks.entry(result).or_default() += 1);
    emit(&[("Result", result)], &[("CallbackAttempts", "Count", 1.0)]);
}

/// A gauge read when the figures are rendered (a queue's depth).
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub label: (&'static str, String),
    pub value: f64,
}

/// Escapes a label value for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (bound, n) in BUCKETS.iter().zip(h.counts) {
        cumulative += n;
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braces = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!("{{{s}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {}", braces(labels), h.sum);
    let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
}

/// The figures so far, with `gauges` read now, in the Prometheus text format (0.0.4).
pub fn render(gauges: &[Gauge]) -> String {
    let mut out = String::new();
    with(|r| {
        out.push_str("# HELP idv_requests_total Requests answered, by method, route and status.\n");
        out.push_str("# TYPE idv_requests_total counter\n");
        for ((method, route, status), n) in &r.requests {
            let _ = writeln!(
                out,
                "idv_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                label(method),
                label(route)
            );
        }
        out.push_str("# HELP idv_request_seconds Time to answer, by route.\n");
        out.push_str("# TYPE idv_request_seconds histogram\n");
        for (route, h) in &r.latency {
            histogram(
                &mut out,
                "idv_request_seconds",
                &format!("route=\"{}\"", label(route)),
                h,
            );
        }
        out.push_str("# HELP idv_verifications_total Verifications finished, by outcome.\n");
        out.push_str("# TYPE idv_verifications_total counter\n");
        for (outcome, n) in &r.outcomes {
            let _ = writeln!(out, "idv_verifications_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP idv_decision_details_total Decision details raised, by code.\n");
        out.push_str("# TYPE idv_decision_details_total counter\n");
        for (code, n) in &r.codes {
            let _ = writeln!(
                out,
                "idv_decision_details_total{{code=\"{}\"}} {n}",
                label(code)
            );
        }
        out.push_str(
            "# HELP idv_verification_seconds Model time of a verification (decode excluded).\n",
        );
        out.push_str("# TYPE idv_verification_seconds histogram\n");
        histogram(&mut out, "idv_verification_seconds", "", &r.verification);
        out.push_str(
            "# HELP idv_stage_seconds Time of each part of a verification (document read; \
             reference faces: detect + embed; selfie: detect + embed + liveness).\n",
        );
        out.push_str("# TYPE idv_stage_seconds histogram\n");
        for (stage, h) in &r.stages {
            histogram(
                &mut out,
                "idv_stage_seconds",
                &format!("stage=\"{stage}\""),
                h,
            );
        }
        out.push_str("# HELP idv_callback_attempts_total Callback delivery attempts, by result.\n");
        out.push_str("# TYPE idv_callback_attempts_total counter\n");
        for (result, n) in &r.callbacks {
            let _ = writeln!(
                out,
                "idv_callback_attempts_total{{result=\"{result}\"}} {n}"
            );
        }
    });
    let mut last = "";
    for g in gauges {
        if g.name != last {
            let _ = writeln!(out, "# HELP {} {}", g.name, g.help);
            let _ = writeln!(out, "# TYPE {} gauge", g.name);
            last = g.name;
        }
        let _ = writeln!(
            out,
            "{}{{{}=\"{}\"}} {}",
            g.name,
            g.label.0,
            label(&g.label.1),
            g.value
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_add_no_series() {
        let before = with(|r| r.requests.len());
        for i in 0..1000 {
            request(
                &format!("X{i:04}{}", "y".repeat(1000)),
                "unmatched",
                405,
                Duration::ZERO,
            );
        }
        request("PATCH", "unmatched", 405, Duration::ZERO);
        let after = with(|r| r.requests.len());
        assert!(after <= before + 2, "{} series added", after - before);
        let text = render(&[]);
        assert!(text.contains("method=\"OTHER\",route=\"unmatched\",status=\"405\"} 1000"));
        assert!(!text.contains("X0001"));
    }

    #[test]
    fn emf_lines_follow_the_specification() {
        let line = emf_line(
            "idv",
            1_700_000_000_000,
            &[("Route", "/v1/verify-identity"), ("Status", "200")],
            &[
                ("Requests", "Count", 1.0),
                ("Latency", "Milliseconds", 12.5),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'), "one line");
        let aws = &v["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_000u64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "idv");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Route", "Status"]])
        );
        // Every dimension and metric named in the directive is a member with its value.
        for d in directive["Dimensions"][0].as_array().unwrap() {
            assert!(v[d.as_str().unwrap()].is_string(), "{line}");
        }
        for m in directive["Metrics"].as_array().unwrap() {
            assert!(v[m["Name"].as_str().unwrap()].is_number(), "{line}");
            assert!(["Count", "Milliseconds"].contains(&m["Unit"].as_str().unwrap()));
        }
        assert_eq!(v["Latency"], 12.5);
        assert_eq!(v["Route"], "/v1/verify-identity");
    }

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let mut h = Histogram::default();
        for s in [0.004, 0.2, 0.2, 100.0] {
            h.observe(s);
        }
        let mut out = String::new();
        histogram(&mut out, "x", "route=\"/a\"", &h);
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.005\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.25\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"60\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 4\n"),
            "{out}"
        );
        assert!(out.contains("x_count{route=\"/a\"} 4\n"), "{out}");
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
    }
}
