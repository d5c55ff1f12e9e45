//! The feature-flag answers.

use serde_json::json;
use serde_json::Value;
use telemetry_endpoint::{
    EndpointConfig, FeatureFlagAnswer, TelemetryEndpoint, TELEMETRY_FLAG_NAMES,
};

use crate::client::get;

/// Every official driver's telemetry flag, each with `value`.
fn all_flags(value: &str) -> Value {
    TELEMETRY_FLAG_NAMES
        .iter()
        .map(|name| json!({"name": name, "value": value}))
        .collect()
}

#[test]
fn the_answer_names_each_drivers_real_flag() {
    for suffix in ["Jdbc", "PythonDriver", "GoDriver", "NodeJs", "Adbc"] {
        let name = format!(
            "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryFor{suffix}"
        );
        assert!(TELEMETRY_FLAG_NAMES.contains(&name.as_str()), "{name}");
    }
    assert!(TELEMETRY_FLAG_NAMES.contains(&"adbc.databricks.telemetry.enabled"));
}

#[test]
fn a_custom_flag_list_is_answered_as_given() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_feature_flags(
        FeatureFlagAnswer::Flags {
            flags: vec![("a".into(), "true".into()), ("b".into(), "no".into())],
            ttl_seconds: Some(120),
        },
    ))
    .unwrap();
    let response = get(
        endpoint.addr(),
        "/api/2.0/connector-service/feature-flags/GOLANG/1.0",
    );
    assert_eq!(
        response.json(),
        json!({"flags": [{"name": "a", "value": "true"}, {"name": "b", "value": "no"}], "ttl_seconds": 120})
    );
}

#[test]
fn default_answer_is_on_with_ttl_900_for_every_driver() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    for driver in ["ADBC", "OSS_JDBC"] {
        let path = format!("/api/2.0/connector-service/feature-flags/{driver}/0.1.0");
        let response = get(endpoint.addr(), &path);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json(),
            json!({"flags": all_flags("true"), "ttl_seconds": 900})
        );
    }
    assert_eq!(endpoint.stats().feature_flag_requests, 2);
}

#[test]
fn each_configured_answer() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default().with_feature_flags(FeatureFlagAnswer::Off { ttl_seconds: None }),
    )
    .unwrap();
    let path = "/api/2.0/connector-service/feature-flags/ADBC/1.2.3";
    let response = get(endpoint.addr(), path);
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"flags": all_flags("false")}));

    endpoint.set_feature_flags(FeatureFlagAnswer::On {
        ttl_seconds: Some(60),
    });
    assert_eq!(
        get(endpoint.addr(), path).json(),
        json!({"flags": all_flags("true"), "ttl_seconds": 60})
    );

    endpoint.set_feature_flags(FeatureFlagAnswer::Missing);
    let response = get(endpoint.addr(), path);
    assert_eq!(response.status, 200);
    let body = response.json();
    let names: Vec<&str> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["name"].as_str().unwrap())
        .collect();
    assert!(names
        .iter()
        .all(|name| !TELEMETRY_FLAG_NAMES.contains(name)));
    assert_eq!(body["ttl_seconds"], 900);

    endpoint.set_feature_flags(FeatureFlagAnswer::Error(503));
    let response = get(endpoint.addr(), path);
    assert_eq!(response.status, 503);
    assert_eq!(response.json()["error_code"], "INJECTED_ERROR");

    assert_eq!(endpoint.stats().feature_flag_requests, 4);
    assert_eq!(endpoint.stats().count(path, 503), 1);
}

#[test]
fn incomplete_flag_paths_are_not_found() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    for path in [
        "/api/2.0/connector-service/feature-flags/ADBC",
        "/api/2.0/connector-service/feature-flags/ADBC/",
        "/api/2.0/connector-service/feature-flags//0.1.0",
        "/api/2.0/connector-service/feature-flags/ADBC/0.1.0/extra",
    ] {
        assert_eq!(get(endpoint.addr(), path).status, 404, "{path}");
    }
    assert_eq!(endpoint.stats().feature_flag_requests, 0);
}
