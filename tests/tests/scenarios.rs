//! Scenario tests through real servers over real mutual TLS. One test binary,
//! one module per area; each test is named for the rule it checks.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scenarios {
    pub mod audit_log;
    pub mod authorization_service;
    pub mod ca_rotation;
    pub mod common;
    pub mod confirmation;
    pub mod delegated_setup;
    pub mod ems_output;
    pub mod expiry;
    pub mod faults;
    pub mod freshness;
    pub mod hostile_callers;
    pub mod hostile_input;
    pub mod lab_sign_in;
    pub mod linked_role_groups;
    pub mod load;
    pub mod model_plan;
    pub mod mtls;
    pub mod one_liners;
    pub mod operations;
    pub mod organization_management;
    pub mod prepare_domains;
    pub mod python_client;
    pub mod rbac_model;
    pub mod rbac_properties;
    pub mod read_your_writes;
    pub mod remote_mailbox;
    pub mod request_path;
    pub mod seattle_example;
    pub mod session_resumption;
    pub mod shell;
    pub mod sid_filtering;
    pub mod split_permissions;
    pub mod split_role_groups;
    pub mod standard_services;
    pub mod statements;
    pub mod typed_errors;
}
