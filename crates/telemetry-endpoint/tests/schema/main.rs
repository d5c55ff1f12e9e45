//! The endpoint's schema table and validator, checked message by message, field by field and
//! enum by enum against the contract in `contract.rs` (transcribed from the wire-format
//! document).

mod contract;

use serde_json::{json, Value};
use telemetry_endpoint::schema::{self, FieldType, MessageSchema};
use telemetry_endpoint::{validate_frontend_log, UploadRoute, ValidationError};

use contract::Message;

/// The table's type of a field, written the way `contract.rs` writes it.
fn type_name(ty: FieldType) -> String {
    match ty {
        FieldType::String => "string".into(),
        FieldType::Bool => "bool".into(),
        FieldType::Int32 => "int32".into(),
        FieldType::Int64 => "int64".into(),
        FieldType::RepeatedString => "repeated string".into(),
        FieldType::Enum(schema) => format!("enum {}", schema.name),
        FieldType::Message(schema) => format!("message {}", schema.name),
    }
}

fn table_message(name: &str) -> &'static MessageSchema {
    schema::MESSAGES
        .iter()
        .find(|message| message.name == name)
        .unwrap_or_else(|| panic!("the schema table has no message {name}"))
}

fn minimal_log() -> Value {
    json!({
        "frontend_log_event_id": "id-1",
        "context": {"client_context": {"timestamp_millis": 1, "user_agent": "t/1"}},
        "entry": {"sql_driver_log": {}}
    })
}

/// A minimal valid log with `value` placed at `location` + `field` (creating objects on the way).
fn log_with(location: &[&str], field: &str, value: Value) -> String {
    let mut log = minimal_log();
    let mut target = &mut log;
    for segment in location {
        let object = target.as_object_mut().unwrap();
        target = object.entry(*segment).or_insert_with(|| json!({}));
    }
    target[field] = value;
    log.to_string()
}

fn validate(log: &str) -> Result<String, ValidationError> {
    validate_frontend_log(log, UploadRoute::Authenticated)
}

fn path_of(location: &[&str], field: &str) -> String {
    let mut path = String::from("$");
    for segment in location.iter().chain(std::iter::once(&field)) {
        path.push('.');
        path.push_str(segment);
    }
    path
}

fn enum_values(name: &str) -> &'static [&'static str] {
    contract::ENUMS
        .iter()
        .find(|(enum_name, _)| *enum_name == name)
        .unwrap_or_else(|| panic!("the contract has no enum {name}"))
        .1
}

/// Values of a type that must be accepted.
fn good_values(ty: &str) -> Vec<Value> {
    let ty = ty.trim_start_matches('!');
    match ty {
        "string" => vec![json!(""), json!("x")],
        "bool" => vec![json!(true), json!(false)],
        "int32" => vec![
            json!(0),
            json!(i32::MAX),
            json!(i32::MIN),
            json!("2147483647"),
            json!("-7"),
        ],
        "int64" => vec![
            json!(0),
            json!(i64::MAX),
            json!(i64::MIN),
            json!("9223372036854775807"),
            json!("-9"),
        ],
        "repeated string" => vec![json!([]), json!(["a", "b"])],
        _ if ty.starts_with("enum ") => enum_values(&ty[5..]).iter().map(|v| json!(v)).collect(),
        _ if ty.starts_with("message ") => vec![],
        other => panic!("unknown contract type {other}"),
    }
}

/// Values of a type that must be rejected.
fn bad_values(ty: &str) -> Vec<Value> {
    let ty = ty.trim_start_matches('!');
    let mut values = vec![Value::Null, json!({"a": 1})];
    values.extend(match ty {
        "string" => vec![json!(1), json!(true), json!(["x"])],
        "bool" => vec![json!("true"), json!(1)],
        "int32" => vec![
            json!(1.5),
            json!(i64::from(i32::MAX) + 1),
            json!(i64::from(i32::MIN) - 1),
            json!("2147483648"),
            json!("1e3"),
            json!("+5"),
            json!(""),
            json!(true),
        ],
        "int64" => vec![
            json!(1.5),
            json!(u64::MAX),
            json!("9223372036854775808"),
            json!(" 5"),
            json!("0x10"),
            json!(false),
        ],
        "repeated string" => vec![json!("a")],
        _ if ty.starts_with("enum ") => vec![json!("NOT_A_NAME"), json!(0), json!("query")],
        _ if ty.starts_with("message ") => vec![json!("x"), json!([])],
        other => panic!("unknown contract type {other}"),
    });
    values
}

#[test]
fn table_has_exactly_the_contract_messages_and_fields() {
    let table_names: Vec<&str> = schema::MESSAGES.iter().map(|m| m.name).collect();
    let contract_names: Vec<&str> = contract::MESSAGES.iter().map(|m| m.name).collect();
    assert_eq!(table_names, contract_names);
    for message in contract::MESSAGES {
        let table = table_message(message.name);
        let table_fields: Vec<(String, String)> = table
            .fields
            .iter()
            .map(|field| {
                let required = if field.required { "!" } else { "" };
                (
                    field.name.to_owned(),
                    format!("{required}{}", type_name(field.ty)),
                )
            })
            .collect();
        let contract_fields: Vec<(String, String)> = message
            .fields
            .iter()
            .map(|(name, ty)| ((*name).to_owned(), (*ty).to_owned()))
            .collect();
        assert_eq!(table_fields, contract_fields, "fields of {}", message.name);
    }
}

#[test]
fn table_has_exactly_the_contract_enums() {
    let table: Vec<(&str, Vec<&str>)> = schema::ENUMS
        .iter()
        .map(|e| (e.name, e.values.to_vec()))
        .collect();
    let contract: Vec<(&str, Vec<&str>)> = contract::ENUMS
        .iter()
        .map(|(name, values)| (*name, values.to_vec()))
        .collect();
    assert_eq!(table, contract);
}

/// The field and enum lists checked into the library's test fixtures (with their sources): the
/// endpoint's table must hold exactly the same messages, fields (names, types, order) and enum
/// values.
#[test]
fn table_matches_the_checked_in_proto_field_list() {
    let lists: Value = serde_json::from_str(include_str!(
        "../../../databricks-telemetry/tests/fixtures/proto_fields.json"
    ))
    .unwrap();
    let listed = lists["messages"].as_object().unwrap();
    assert_eq!(listed.len(), schema::MESSAGES.len(), "messages");
    for message in schema::MESSAGES {
        let table: Vec<Value> = message
            .fields
            .iter()
            .map(|field| {
                let required = if field.required { "!" } else { "" };
                json!([field.name, format!("{required}{}", type_name(field.ty))])
            })
            .collect();
        assert_eq!(Value::from(table), listed[message.name], "{}", message.name);
    }
    let enums = lists["enums"].as_object().unwrap();
    assert_eq!(enums.len(), schema::ENUMS.len(), "enums");
    for schema_enum in schema::ENUMS {
        assert_eq!(
            json!(schema_enum.values),
            enums[schema_enum.name],
            "{}",
            schema_enum.name
        );
    }
}

#[test]
fn every_message_nested_in_the_table_is_listed() {
    for message in schema::MESSAGES {
        for field in message.fields {
            match field.ty {
                FieldType::Message(nested) => assert!(
                    schema::MESSAGES.contains(&nested),
                    "{} is used by {} but not listed",
                    nested.name,
                    message.name
                ),
                FieldType::Enum(nested) => assert!(
                    schema::ENUMS.contains(&nested),
                    "{} is used by {} but not listed",
                    nested.name,
                    message.name
                ),
                _ => {}
            }
        }
    }
}

#[test]
fn every_field_accepts_values_of_its_type() {
    let mut scalar_fields = 0;
    for Message {
        name,
        location,
        fields,
    } in contract::MESSAGES
    {
        for (field, ty) in *fields {
            let values = good_values(ty);
            if ty.trim_start_matches('!').starts_with("message ") {
                continue;
            }
            assert!(values.len() >= 2, "{name}.{field}: too few samples");
            for value in values {
                let log = log_with(location, field, value.clone());
                if let Err(error) = validate(&log) {
                    panic!("{name}.{field} = {value} rejected: {error}");
                }
            }
            scalar_fields += 1;
        }
    }
    // 103 fields in the document, 15 of them messages.
    assert_eq!(scalar_fields, 88);
}

#[test]
fn every_field_rejects_values_of_other_types_with_its_path() {
    for Message {
        name,
        location,
        fields,
    } in contract::MESSAGES
    {
        for (field, ty) in *fields {
            let table_field = table_message(name).field(field).unwrap();
            for value in bad_values(ty) {
                let log = log_with(location, field, value.clone());
                let error = validate(&log)
                    .expect_err(&format!("{name}.{field} = {value} should be rejected"));
                let expected_path = path_of(location, field);
                if let FieldType::Message(nested) = table_field.ty {
                    if value.is_object() {
                        // {"a": 1} is an object with an unknown field.
                        assert_eq!(error.path, format!("{expected_path}.a"), "{name}.{field}");
                        assert!(error.message.starts_with(&format!(
                            "unknown field \"a\" in {}; expected one of: ",
                            nested.name
                        )));
                        continue;
                    }
                }
                assert_eq!(error.path, expected_path, "{name}.{field} = {value}");
                assert!(
                    error
                        .message
                        .starts_with(&format!("expected {}, found ", table_field.ty.describe())),
                    "{name}.{field} = {value}: {}",
                    error.message
                );
            }
        }
    }
}

#[test]
fn repeated_string_elements_are_checked_one_by_one() {
    let location = ["entry", "sql_driver_log", "driver_connection_params"];
    let error = validate(&log_with(
        &location,
        "non_proxy_hosts",
        json!(["a", "b", false]),
    ))
    .unwrap_err();
    assert_eq!(
        error.path,
        "$.entry.sql_driver_log.driver_connection_params.non_proxy_hosts[2]"
    );
    assert_eq!(error.message, "expected a string, found false");
}

#[test]
fn every_enum_accepts_each_of_its_names_and_nothing_else() {
    for (enum_name, values) in contract::ENUMS {
        let users: Vec<(&Message, &str)> = contract::MESSAGES
            .iter()
            .flat_map(|message| {
                message
                    .fields
                    .iter()
                    .filter(|(_, ty)| ty.strip_prefix("enum ") == Some(enum_name))
                    .map(move |(field, _)| (message, *field))
            })
            .collect();
        assert!(!users.is_empty(), "no field uses {enum_name}");
        for (message, field) in users {
            for value in *values {
                let log = log_with(message.location, field, json!(value));
                assert!(validate(&log).is_ok(), "{enum_name} {value} on {field}");
            }
            let error =
                validate(&log_with(message.location, field, json!("UNKNOWN_NAME"))).unwrap_err();
            assert_eq!(
                error.message,
                format!(
                    "expected {enum_name} (one of {}), found \"UNKNOWN_NAME\"",
                    values.join(", ")
                )
            );
        }
    }
}

#[test]
fn every_message_rejects_unknown_fields() {
    for message in contract::MESSAGES {
        let log = log_with(message.location, "not_in_the_contract", json!(1));
        let error = validate(&log).unwrap_err();
        assert_eq!(error.path, path_of(message.location, "not_in_the_contract"));
        let names: Vec<&str> = message.fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            error.message,
            format!(
                "unknown field \"not_in_the_contract\" in {}; expected one of: {}",
                message.name,
                names.join(", ")
            )
        );
    }
}

#[test]
fn required_fields_are_required_and_optional_ones_are_not() {
    for message in contract::MESSAGES {
        for (field, ty) in message.fields {
            let mut log: Value =
                serde_json::from_str(&log_with(message.location, field, json!(null))).unwrap();
            // Remove the field just set to null: that leaves it absent.
            let mut target = &mut log;
            for segment in message.location {
                target = &mut target[*segment];
            }
            target.as_object_mut().unwrap().remove(*field);
            let result = validate(&log.to_string());
            if ty.starts_with('!') {
                let error = result.expect_err(field);
                assert_eq!(error.path, path_of(message.location, field));
                assert_eq!(
                    error.message,
                    format!("missing required field \"{field}\" in {}", message.name)
                );
            } else {
                assert!(
                    result.is_ok(),
                    "{}.{field} should be optional",
                    message.name
                );
            }
        }
    }
}

#[test]
fn the_three_host_details_locations_share_one_message() {
    let location = ["entry", "sql_driver_log", "driver_connection_params"];
    for field in ["host_info", "proxy_host_info", "cf_proxy_host_info"] {
        let log = log_with(
            &location,
            field,
            json!({"host_url": "h", "port": 443, "proxy_auth_type": "BASIC"}),
        );
        assert!(validate(&log).is_ok(), "{field}");
        let log = log_with(&location, field, json!({"port": 70000_i64 * 40000}));
        let error = validate(&log).unwrap_err();
        assert_eq!(
            error.path,
            format!("$.entry.sql_driver_log.driver_connection_params.{field}.port")
        );
    }
}
