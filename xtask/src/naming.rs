//! How progenitor and typify spell names, in one place: method and
//! parameter names (snake case) and type and variant names (Pascal case).

/// Method and parameter names as progenitor spells them
/// (`registries_list_repositoriesV2` → `registries_list_repositories_v2`).
pub fn snake(name: &str) -> String {
    use heck::ToSnakeCase;
    name.to_snake_case()
}

/// Type and enum variant names as typify spells them.
pub fn pascal(name: &str) -> String {
    use heck::ToUpperCamelCase;
    name.to_upper_camel_case()
}
