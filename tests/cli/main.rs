//! Integration tests: the real `ferry` binary on temporary repositories, one module per command.

mod common;
mod diff;
mod export;
mod fmt;
mod graph;
mod init;
mod kinds;
mod object;
mod plan;
mod synth;
mod tenant;
mod validate;
