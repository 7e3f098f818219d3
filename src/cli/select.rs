//! `--select` and `--exclude`, shared by the commands that take them.

use std::collections::BTreeSet;

use ferry::graph::Graph;
use ferry::model::Address;
use ferry::select::{self, SelectError, Selector};

use super::CliError;

/// The long help of every `--select`.
pub const HELP: &str = "Only the objects this selector chooses over the dependency graph.

  kind/name, kind/project/name   an address; `*` matches within a part, `**` across parts
  name                           a name glob, any kind
  kind:K  category:C  project:P  by kind, category or project (globs allowed for K and P)
  +X   X and everything it depends on (N+X: to depth N)
  X+   X and everything that depends on it (X+N: to depth N)
  @X   X, everything that depends on it, and everything those depend on
  A B  union (space);  A,B  intersection (comma)

A part that matches nothing is an error. Example: --select 'derived_metric/retail_dw/gmv_1d+'";

impl From<SelectError> for CliError {
    fn from(e: SelectError) -> Self {
        let hint = match &e {
            SelectError::Parse { .. } => "`ferry graph --help` shows the selector grammar",
            SelectError::NoMatch { .. } => {
                "check the spelling; `ferry graph --format json` lists every address"
            }
        };
        CliError::new(e, Some(hint.to_string()))
    }
}

/// The addresses `select` minus `exclude` choose in `graph` (everything when both are absent).
pub fn choose(
    graph: &Graph,
    select: Option<&str>,
    exclude: Option<&str>,
) -> super::Result<BTreeSet<Address>> {
    let select = select.map(Selector::parse).transpose()?;
    let exclude = exclude.map(Selector::parse).transpose()?;
    Ok(select::choose(graph, select.as_ref(), exclude.as_ref())?)
}
