//! ferry keeps a data-platform tenant's metadata objects as code: a git repository of TOML files,
//! one canonical file per object, every object with a GUID that is the same in every environment.
//!
//! # The pipeline
//!
//! Every plan and apply runs one pipeline:
//!
//! ```text
//! desired (git ref | package, later) → overlay (environments, later) → actual (a Tenant)
//!     → plan::build → render | apply
//! ```
//!
//! [`desired`] reads what a destination should hold (the objects at a git ref, validated);
//! [`store::actual`] reads what it holds and what ferry last applied there; [`plan::build`]
//! turns the two into a [`plan::Plan`], a value that [`render`] shows and [`apply`] executes
//! under the destination's lock. [`ops`] holds one function per command, each a walk along this
//! pipeline (or a part of it); the `ferry` binary only parses arguments, calls one of them and
//! prints what it returns.
//!
//! # Modules, from the top down
//!
//! - [`ops`]: one function per command, with its options and result values.
//! - [`context`]: the repository root, `ferry.toml`, kinds, actor, clock and environment
//!   variables an operation runs with (no other module reads `std::env`).
//! - [`apply`]: a plan executed as one deployment, under the lock ([`apply::session`]);
//!   deployment records read back ([`apply::records`]).
//! - [`plan`]: matching, checks, waves, blast radius; saved-plan files ([`plan::file`]).
//! - [`desired`]: where desired objects come from (git today), read all or only what changed.
//! - [`export`]: a tenant's objects written into the repository (`ferry export`).
//! - [`diff`]: the objects that changed between two commits, matched by GUID (`ferry diff`).
//! - [`edit`]: direct edits of a tenant's objects (`ferry object put|get|list|rm`).
//! - [`render`]: every output: plans (text, Markdown), diffs, the graph (DOT, Mermaid, JSON),
//!   reports.
//! - [`fmt`]: rewriting object files in canonical form.
//! - [`package`]: the deployment package format (`ferry package`, `ferry import`): writing,
//!   reading with limits, the manifest and its signature.
//! - [`validate`]: every check a set of object files must pass, reported all at once.
//! - [`select`] and [`graph`]: the dependency graph of objects, its waves, and selectors over it.
//! - [`repo`]: the tenant repository on disk and in git (the only module that uses git2).
//! - [`store`]: tenant stores behind the `Tenant` trait, the tenant URL type, the actual side of
//!   a plan; `store::sqlite` is the embedded store (the only module that uses rusqlite).
//! - [`config`]: reading and writing `ferry.toml`.
//! - [`kinds`]: every object kind is a JSON Schema with an `x-ferry` block (category, scope,
//!   references, secrets, exportability, cluster binding, immutable fields); the engine is
//!   generic over them.
//! - [`model`]: objects, addresses, the object file format and its canonical writer, hashes.
//! - [`secret`]: secret values that cannot be printed.
//! - [`synth`]: synthetic tenants for benchmarks and scale tests.
//!
//! # Files ferry reads and writes
//!
//! ```text
//! ferry.toml                      format version, the source tenant's facts, defaults
//! objects/<category>/<kind>/[<project>/]<name>.toml
//! environments/<env>.toml         per-environment overrides and secret references
//! schemas/kinds/                  kind schemas: copies of the built-in ones, plus custom kinds
//! FILE.dp                         a deployment package (`ferry package -o`, `ferry import`)
//! ```
#![warn(missing_docs)]

pub mod ops;

pub mod apply;
pub mod context;
pub mod desired;
pub mod diff;
pub mod edit;
pub mod export;
pub mod fmt;
pub mod package;
pub mod plan;
pub mod render;
pub mod validate;

pub mod graph;
pub mod select;

pub mod config;
pub mod repo;
pub mod store;

pub mod kinds;
pub mod model;
pub mod secret;
pub mod synth;
