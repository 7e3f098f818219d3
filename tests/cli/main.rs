//! Integration tests: the real `ferry` binary on temporary repositories, one module per command.

mod apply;
mod common;
mod diff;
mod environments;
mod errors;
mod export;
mod flags;
mod fmt;
mod graph;
mod guarantees;
mod guards;
mod init;
mod kinds;
mod object;
mod output;
mod overlay;
mod package;
mod plan;
mod postgres;
mod quickstart;
mod readme;
mod secrets;
mod select;
mod synth;
mod tenant;
mod validate;
