//! The `sppnet` binary and the examples as a user runs them: outputs, exit codes, one-line
//! errors, files written or not; plus the README's promises.

#[path = "../common/mod.rs"]
mod common;

mod bench;
mod blocks;
mod detect;
mod docs;
mod examples;
mod forward;
mod hostile;
mod hostile_tree;
mod infer;
mod kill;
mod parity;
mod pool;
mod pool_ops;
mod port;
mod port_yaml;
mod predict;
mod repo;
