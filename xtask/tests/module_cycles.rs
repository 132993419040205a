//! No module of any crate imports one that imports it back: modules are
//! layered, each importing only what sits below it.
//!
//! Every `crate::…`, `super::…` and `self::…` path, and every path that
//! starts with a child module's name, is an edge from the file's module to
//! the deepest module the path names. The crate root is left out as a
//! target: it is the crate's facade, and `crate::Error` means the item,
//! wherever it is defined. `#[cfg(test)] mod tests` blocks belong to the
//! tests, not to the layering.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Every library and binary source tree of the workspace: `crates/*/src`,
/// `xtask/src` and `tests/src`.
fn source_trees(root: &Path) -> Vec<PathBuf> {
    let mut trees: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    trees.push(root.join("xtask/src"));
    trees.push(root.join("tests/src"));
    trees.sort();
    trees
}

/// The modules of one crate, by path, with their source files
/// (`src/bin` holds other crates and is left out).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("bin") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// The file's code: comment lines dropped, and `#[cfg(test)] mod tests`
/// blocks left out.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    let mut skipping: Option<i64> = None;
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if let Some(depth) = skipping.as_mut() {
            *depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if *depth <= 0 {
                skipping = None;
            }
            continue;
        }
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            let header = lines.next().unwrap_or_default();
            let depth = header.matches('{').count() as i64 - header.matches('}').count() as i64;
            if depth > 0 {
                skipping = Some(depth);
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        let code = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn ident_at(chars: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// The paths that continue `prefix` at `i` (`a::b`, or a `{…}` group of
/// them), each as its segments.
fn paths_at(chars: &[char], mut i: usize, prefix: &[String], out: &mut Vec<Module>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '{' {
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                if i >= chars.len() || chars[i] == '}' {
                    return i + 1;
                }
                i = paths_at(chars, i, &path, out);
            }
        }
        let (segment, next) = ident_at(chars, i);
        if segment.is_empty() {
            if path.len() > prefix.len() || !prefix.is_empty() {
                out.push(path);
            }
            return next.max(i + 1);
        }
        path.push(segment);
        i = next;
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            // `as name`, `*` and the like end the path.
            out.push(path);
            while i < chars.len() && !matches!(chars[i], ',' | '}' | ';' | ')' | '>' | '\n') {
                i += 1;
            }
            return i;
        }
    }
}

/// The modules `module`'s code refers to, as absolute paths.
fn references(code: &str, module: &Module, children: &BTreeSet<String>) -> Vec<Module> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0
            || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
        if !boundary || !(chars[i].is_alphabetic() || chars[i] == '_') {
            i += 1;
            continue;
        }
        let (word, next) = ident_at(&chars, i);
        let joined = chars.get(next) == Some(&':') && chars.get(next + 1) == Some(&':');
        if !joined {
            i = next;
            continue;
        }
        let base: Option<Module> = match word.as_str() {
            "crate" => Some(Vec::new()),
            "self" => Some(module.clone()),
            "super" => {
                let mut up = module.clone();
                up.pop();
                Some(up)
            }
            child if children.contains(child) => {
                let mut down = module.clone();
                down.push(child.to_string());
                Some(down)
            }
            _ => None,
        };
        match base {
            Some(base) => {
                let mut found = Vec::new();
                let skip = if word == "crate" || word == "self" || word == "super" {
                    next + 2
                } else {
                    i
                };
                let prefix = if skip == i { module.clone() } else { base };
                i = paths_at(&chars, skip, &prefix, &mut found);
                out.extend(found);
            }
            None => i = next,
        }
    }
    out
}

/// The deepest module `path` names.
fn target(path: &Module, known: &BTreeMap<Module, PathBuf>) -> Module {
    let mut p = path.clone();
    while !p.is_empty() && !known.contains_key(&p) {
        p.pop();
    }
    p
}

/// A cycle through `start`, if there is one.
fn cycle_from(start: &Module, edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((at, trail)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if next == start {
                let mut cycle = trail.clone();
                cycle.push(start.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = trail.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = workspace_root();
    let mut cycles = Vec::new();
    let mut counted = 0;
    for src in source_trees(&root) {
        let known = modules(&src);
        let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (module, file) in &known {
            let children: BTreeSet<String> = known
                .keys()
                .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
                .map(|m| m.last().unwrap().clone())
                .collect();
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            for path in references(&code, module, &children) {
                let to = target(&path, &known);
                // Not the facade, and not the module itself.
                if !to.is_empty() && &to != module {
                    edges.entry(module.clone()).or_default().insert(to);
                }
            }
        }
        counted += known.len();
        for module in known.keys() {
            if let Some(cycle) = cycle_from(module, &edges) {
                let names: Vec<String> = cycle
                    .iter()
                    .map(|m| {
                        if m.is_empty() {
                            "crate".into()
                        } else {
                            m.join("::")
                        }
                    })
                    .collect();
                cycles.push(format!(
                    "{}: {}",
                    src.strip_prefix(&root).unwrap().display(),
                    names.join(" -> ")
                ));
            }
        }
    }
    assert!(counted > 60, "read only {counted} modules");
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

/// The checker sees the paths a module's code names: absolute, relative
/// to the parent, grouped, and a child's by its name.
#[test]
fn references_are_read_from_every_path_form() {
    let module: Module = vec!["providers".into()];
    let children: BTreeSet<String> = ["abeja".to_string()].into();
    let code = code_of(
        "use crate::view::{Registry, RegistryView};\n\
         use super::account::{self, Opened};\n\
         // use crate::commented::Out;\n\
         pub use abeja::AbejaView;\n\
         fn f() { crate::clock::SystemClock; x.with::<abeja::Abeja>(); }\n\
         #[cfg(test)]\n\
         mod tests {\n    use crate::only_tests::X;\n}\n\
         use crate::after_tests::Y;\n",
    );
    let found: BTreeSet<String> = references(&code, &module, &children)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    for want in [
        "view::Registry",
        "view::RegistryView",
        "account::self",
        "account::Opened",
        "providers::abeja::AbejaView",
        "providers::abeja::Abeja",
        "clock::SystemClock",
        "after_tests::Y",
    ] {
        assert!(found.contains(want), "{want} not in {found:?}");
    }
    assert!(
        !found
            .iter()
            .any(|p| p.contains("commented") || p.contains("only_tests"))
    );

    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycle_from(&a, &edges), Some(vec![a.clone(), b, a]));
}
