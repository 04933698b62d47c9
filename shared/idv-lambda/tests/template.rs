//! Every route the router serves (as its generated OpenAPI document lists them) has a route in
//! template.yaml (the local store's upload receiver excepted: on AWS, S3 receives presigned
//! uploads itself), and every template route exists in the router.

use std::collections::BTreeSet;

fn template_routes() -> BTreeSet<(String, String)> {
    let t = include_str!("../../../template.yaml");
    t.lines()
        .filter_map(|l| {
            let m = l
                .split("Method: ")
                .nth(1)?
                .split(',')
                .next()?
                .trim()
                .to_string();
            let p = l.split("Path: ").nth(1)?.split('}').next()?;
            let p = p.trim().trim_matches('"').to_string();
            // `{id}}` was cut at the first `}`: take the path up to the closing quote instead.
            let path = if l.contains("Path: \"") {
                l.split("Path: \"").nth(1)?.split('"').next()?.to_string()
            } else {
                p
            };
            Some((m.to_lowercase(), path))
        })
        .collect()
}

/// The routes the router serves: its generated OpenAPI document (every route is registered
/// with its operation).
fn router_routes() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(idv_http::openapi_document()).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            out.insert((m.clone(), path.clone()));
        }
    }
    out
}

#[test]
fn every_router_route_is_in_the_template() {
    let template = template_routes();
    let router = router_routes();
    assert!(router.len() > 20, "{router:?}");
    for r in &router {
        if r.1 == "/v1/uploads/{key}" {
            continue; // the local store's presigned-upload receiver; S3 on AWS
        }
        if r.1.starts_with("/admin/") {
            continue; // idv serve's admin API; on AWS there is no admin function
        }
        assert!(template.contains(r), "{r:?} has no route in template.yaml");
    }
    for r in &template {
        assert!(
            router.contains(r),
            "template route {r:?} is not served by the router"
        );
    }
}
