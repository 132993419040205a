//! The TLS backend, chosen by cargo feature (`rustls-ring`, the default;
//! `rustls-aws-lc`; `native-tls`).
//!
//! With `rustls-ring`, reqwest is built without a rustls crypto provider of
//! its own, which keeps aws-lc-rs (a long C build) out of the dependency
//! tree. rustls then needs a process-wide provider: the first client built
//! installs ring, unless the application installed one first (its choice
//! wins).

/// Makes sure rustls has a crypto provider before a `reqwest::Client` is
/// built.
pub(crate) fn prepare() {
    #[cfg(feature = "rustls-ring")]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one at the same moment; either way a
        // provider is in place afterwards.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
