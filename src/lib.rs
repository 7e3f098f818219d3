//! ferry keeps a data-platform tenant's metadata objects as code: a git repository of TOML files,
//! one canonical file per object, every object with a GUID that is the same in every environment.
//!
//! # Architecture
//!
//! - [`kinds`]: every object kind is a JSON Schema with an `x-ferry` block (category, scope,
//!   references, secrets, exportability); the engine is generic over them.
//! - [`model`]: objects, addresses, the object file format and its canonical writer.
//! - [`repo`]: the tenant repository on disk and in git (the only module that uses git2).
//! - [`validate`]: every check a set of object files must pass, reported all at once.
//! - [`graph`]: the dependency graph of objects (petgraph), cycles and waves.
//! - [`select`]: selectors over the dependency graph (`--select`, `--exclude`).
//! - [`render`]: every output: plans (text, Markdown), diffs, the graph (DOT, Mermaid, JSON), reports.
//! - [`fmt`]: rewriting object files in canonical form.
//! - [`config`]: reading and writing `ferry.toml`.
//! - [`store`]: tenant stores behind the `Tenant` trait; `store::sqlite` is the embedded one
//!   (the only module that uses rusqlite).
//! - [`apply`]: a plan executed as one deployment.
//! - [`plan`]: the ordered changes that turn a destination into a commit's objects.
//! - [`export`]: a tenant's objects written into the repository (`ferry export`).
//! - [`diff`]: the objects that changed between two commits, matched by GUID (`ferry diff`).
//! - [`edit`]: direct edits of a tenant's objects (`ferry object put|get|list|rm`).
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
//! ```
#![warn(missing_docs)]

pub mod apply;
pub mod config;
pub mod diff;
pub mod edit;
pub mod export;
pub mod fmt;
pub mod graph;
pub mod kinds;
pub mod model;
pub mod plan;
pub mod render;
pub mod repo;
pub mod secret;
pub mod select;
pub mod store;
pub mod synth;
pub mod validate;
