use ferry::context::Context;
use ferry::kinds::{Exportable, Scope};

use super::prelude::*;

/// List the object kinds: built-in ones and the repository's own.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let kinds = ferry::ops::kinds::kinds(ctx)?;
    match args.format {
        TextOrJson::Text => {
            let mut text = format!(
                "{:<28} {:<13} {:<8} exportable\n",
                "KIND", "CATEGORY", "SCOPE"
            );
            for k in &kinds {
                let scope = match k.scope {
                    Scope::Tenant => "tenant",
                    Scope::Project => "project",
                };
                let exportable = match &k.exportable {
                    Exportable::Always => "yes".to_string(),
                    Exportable::Never { .. } => "no".to_string(),
                    Exportable::NotWhen { when, .. } => format!(
                        "yes, unless {}",
                        when.iter()
                            .map(|(p, v)| format!(
                                "{p} is {}",
                                v.iter()
                                    .map(|v| v.to_string())
                                    .collect::<Vec<_>>()
                                    .join(" or ")
                            ))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                };
                text.push_str(&format!(
                    "{:<28} {:<13} {:<8} {exportable}\n",
                    k.name,
                    k.category.as_str(),
                    scope
                ));
            }
            out(&text)?;
        }
        TextOrJson::Json => {
            let list: Vec<serde_json::Value> = kinds
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "kind": k.name,
                        "category": k.category.as_str(),
                        "scope": if k.scope == Scope::Project { "project" } else { "tenant" },
                        "builtin": k.builtin,
                        "exportable": !matches!(k.exportable, Exportable::Never { .. }),
                        "references": k.references.iter().map(|r| serde_json::json!({"field": r.pointer, "kinds": r.targets})).collect::<Vec<_>>(),
                        "secrets": k.secrets,
                        "env_specific": k.env_specific,
                    })
                })
                .collect();
            out_json(&serde_json::json!({
                "format_version": ferry::render::OUTPUT_VERSION,
                "kinds": list,
            }))?;
        }
    }
    Ok(Success::Done)
}
