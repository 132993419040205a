//! Hand-written additions to the generated IONOS client.

use crate::{Client, Error};

impl Client {
    /// Whether `name` is free for a new registry, from
    /// [`names_check_usage`](Client::names_check_usage), which answers with a
    /// status only: `Ok(true)` when IONOS says 404 (unused), `Ok(false)` when
    /// it says 200 (taken). A malformed name (400) and every other failure
    /// stay errors.
    ///
    /// ```no_run
    /// # async fn demo(client: &regkit_ionos::Client) -> Result<(), regkit_ionos::Error<()>> {
    /// if client.is_registry_name_available("team-images").await? {
    ///     println!("free");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_registry_name_available(&self, name: &str) -> Result<bool, Error<()>> {
        match self.names_check_usage().name(name).send().await {
            Ok(_) => Ok(false),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) => Err(e),
        }
    }
}
