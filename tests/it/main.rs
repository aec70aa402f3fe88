//! End-to-end tests of the `burnrate` binary and the two halves together.

mod agreement;
mod agreement_ratelimit;
mod agreement_routing;
mod cli;
mod cli_drive;
mod cli_shard;
mod cli_shell;
mod cli_traces;
mod container;
mod docs;
mod function_size;
mod install_names;
mod layers;
mod mock_frameworks;
mod mock_sdk;
mod otel_e2e;
