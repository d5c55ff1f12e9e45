//! The feature-flag answers.

use serde_json::json;
use telemetry_endpoint::{EndpointConfig, FeatureFlagAnswer, TelemetryEndpoint};

use crate::client::get;

fn flag_name(driver: &str) -> String {
    format!("databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryFor{driver}")
}

#[test]
fn default_answer_is_on_with_ttl_900_for_the_requested_driver() {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default()).unwrap();
    for driver in ["ADBC", "OSS_JDBC"] {
        let path = format!("/api/2.0/connector-service/feature-flags/{driver}/0.1.0");
        let response = get(endpoint.addr(), &path);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.json(),
            json!({"flags": [{"name": flag_name(driver), "value": "true"}], "ttl_seconds": 900})
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
    assert_eq!(
        response.json(),
        json!({"flags": [{"name": flag_name("ADBC"), "value": "false"}]})
    );

    endpoint.set_feature_flags(FeatureFlagAnswer::On {
        ttl_seconds: Some(60),
    });
    assert_eq!(
        get(endpoint.addr(), path).json(),
        json!({"flags": [{"name": flag_name("ADBC"), "value": "true"}], "ttl_seconds": 60})
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
    assert!(!names.contains(&flag_name("ADBC").as_str()));
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
