//! `shop`: the core every function and the local stack are built from.
//!
//! The domain sits at the centre ([`domain`]); ports ([`table`], [`identity`]) surround it, each
//! with adapters in crates of their own (`shop-dynamodb`, `shop-cognito`, `shop-sns`,
//! `shop-embedded`, with `shop-aws` for the Lambda glue) that honour one contract, so each function
//! links only the adapters it calls; the repositories ([`users`], [`catalog`], [`cart`],
//! [`orders`]) are written once against the ports. [`http`] holds the HTTP conventions every
//! service follows.

pub mod addresses;
pub mod audit;
pub mod cart;
pub mod catalog;
pub mod codes;
pub mod consumers;
pub mod deferred;
pub mod domain;
pub mod error;
pub mod events;
pub mod guests;
pub mod http;
pub mod identity;
pub mod imports;
pub mod invoices;
pub mod keys;
pub mod media;
pub mod metrics;
pub mod migrations;
pub mod notifications;
pub mod objects;
pub mod openapi;
pub mod orders;
pub mod partners;
pub mod payments;
pub mod pricing;
pub mod promotions;
pub mod recovery;
pub mod reports;
pub mod returns;
pub mod sales;
pub mod search;
pub mod settings;
pub mod signatures;
pub mod signing;
pub mod table;
pub mod time;
pub mod users;

pub use error::{Dependency, Error, Result};

#[doc(hidden)]
pub use {paste, utoipa_axum};

/// One `#[tokio::test]` per check of a port's contract (`payments::contract`,
/// `notifications::contract`): each makes the contract's `Subject` with `$make` (an async
/// expression) and runs the check on it.
#[doc(hidden)]
#[macro_export]
macro_rules! contract_tests {
    ($port:ident, $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let subject: $crate::$port::contract::Subject = $make.await;
                $crate::$port::contract::$check(&subject).await;
            }
        )*
    };
}

/// No module of this crate imports another that imports it back, directly or through others:
/// the graph of `crate::` paths between top-level modules (ARCHITECTURE.md draws it) has no
/// cycle.
#[cfg(test)]
mod module_graph {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module and the other top-level modules its files name through `crate::`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if name == "lib" {
                continue;
            }
            let mut found = Vec::new();
            let mut stack = vec![path];
            while let Some(path) = stack.pop() {
                if path.is_dir() {
                    stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(path);
                }
            }
            files.insert(name, found);
        }
        let modules: BTreeSet<String> = files.keys().cloned().collect();
        files
            .iter()
            .map(|(module, paths)| {
                let text: String = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
                let mut named = BTreeSet::new();
                for (at, _) in text.match_indices("crate::") {
                    let rest = &text[at + "crate::".len()..];
                    // `crate::x::...`, or each name of `crate::{x, y::z}`.
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(inner) => inner[..inner.find('}').unwrap_or(inner.len())].split(',').collect(),
                        None => vec![rest],
                    };
                    for part in names {
                        let word: String =
                            part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        if modules.contains(&word) && word != *module {
                            named.insert(word);
                        }
                    }
                }
                (module.clone(), named)
            })
            .collect()
    }

    #[test]
    fn no_module_imports_one_that_imports_it() {
        let graph = imports();
        assert!(graph["metrics"].iter().all(|m| m == "domain"), "metrics is a leaf: {:?}", graph["metrics"]);
        assert!(graph["domain"].iter().all(|m| m == "time"), "domain is below every service: {:?}", graph["domain"]);
        // Depth-first: a module met again while its own imports are being walked closes a cycle.
        fn walk<'a>(
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            module: &'a str,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if let Some(at) = path.iter().position(|m| *m == module) {
                panic!("a module cycle: {} -> {module}", path[at..].join(" -> "));
            }
            if !done.insert(module) {
                return;
            }
            path.push(module);
            for next in &graph[module] {
                walk(graph, next, path, done);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            walk(&graph, module, &mut Vec::new(), &mut done);
        }
    }
}
