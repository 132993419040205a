//! One module per provider, each in three layers: `model` (its state and
//! what requests do to it, no HTTP), `routes` (its route table, handlers
//! and error body) and `demo` (its demo content), tied together by its
//! entry in `APIS`, the table the server and the handle read.

use crate::api::Api;
use crate::provider::Provider;

pub mod abeja;
pub mod buildkite;
pub mod digitalocean;
pub mod humanitec;
pub mod ionos;

/// Every emulated API, in [`Provider::ALL`]'s order.
pub(crate) static APIS: [&Api; 5] = [
    &digitalocean::API,
    &ionos::API,
    &humanitec::API,
    &buildkite::API,
    &abeja::API,
];

/// `p`'s emulated API.
pub(crate) fn api(p: Provider) -> &'static Api {
    APIS.iter()
        .copied()
        .find(|a| a.provider == p)
        .expect("the table holds every provider")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_provider_once_in_order() {
        let order: Vec<Provider> = APIS.iter().map(|a| a.provider).collect();
        assert_eq!(order, Provider::ALL);
        for a in APIS {
            assert_eq!(a.info.name, a.provider.name(), "PROVIDER matches the entry");
        }
    }
}
