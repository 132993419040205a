//! The `regkit` command line, as clap sees it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use regkit_workflows::lease::{Lifetime, MAX_TTL, MIN_TTL};

use crate::output::Format;

/// One command line for the container registries of DigitalOcean, IONOS,
/// Humanitec, Buildkite and ABEJA.
#[derive(Debug, Parser)]
#[command(
    name = "regkit",
    version,
    about,
    after_help = after_help(),
    propagate_version = true
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The provider.
    #[command(subcommand)]
    pub provider: ProviderCommand,
}

/// The help's closing text: each provider's credential variables (from the
/// manifest, through `regkit_core::Provider`) and the exit codes.
pub fn after_help() -> String {
    let mut text = String::from(
        "Credentials come from the environment, as each provider crate's from_env() reads them:\n",
    );
    for p in regkit_core::Provider::ALL {
        text.push_str(&format!(
            "  {:<13} {}\n",
            p.name(),
            p.info().credential_env_text()
        ));
    }
    text.push_str(concat!(
        "With --emulator no credentials are needed: an embedded emulator with demo content answers.\n\n",
        "Exit codes:\n",
        "  0  success\n",
        "  1  error (API error, missing credentials, unsupported by the provider, files)\n",
        "  2  usage error (unknown flag, missing or invalid argument)\n",
        "  3  partial failure during `prune --apply` (the report says what was done)",
    ));
    text
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// How to print results: aligned columns, or JSON (one document; one
    /// object per line for listings).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Talk to this URL instead of the provider's API (a proxy, an
    /// emulator).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Run against an embedded regkit-emulator seeded with demo content: no
    /// account or credentials needed.
    #[arg(long, global = true, conflicts_with = "base_url")]
    pub emulator: bool,
    /// Answer yes to confirmations (`prune --apply`).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
}

/// The provider to work with.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// DigitalOcean Container Registry.
    #[command(name = "digitalocean", alias = "do", after_help = after_help())]
    DigitalOcean(ProviderArgs),
    /// IONOS Cloud Container Registry.
    #[command(after_help = after_help())]
    Ionos(ProviderArgs),
    /// Humanitec registry records (needs --org).
    #[command(after_help = after_help())]
    Humanitec(ProviderArgs),
    /// Buildkite Package Registries, container ecosystem (needs --org).
    #[command(after_help = after_help())]
    Buildkite(ProviderArgs),
    /// ABEJA Platform container registry (needs --org, the organization id).
    #[command(after_help = after_help())]
    Abeja(ProviderArgs),
    /// Copy one image between registries (any providers with a data
    /// plane), with every platform and its referrers, credentials minted at
    /// both ends: `regkit copy digitalocean:demo/web:v1 ionos:prod/web`.
    Copy {
        /// PROVIDER:REGISTRY/REPOSITORY:TAG or …@DIGEST (Buildkite:
        /// buildkite:ORG/REGISTRY/REPOSITORY:TAG).
        src: String,
        /// PROVIDER:REGISTRY/REPOSITORY[:TAG] (the source's tag by default).
        dst: String,
        /// Leave referrers (signatures, SBOMs) and cosign-style tags behind.
        #[arg(long)]
        no_referrers: bool,
    },
    /// Copy a repository's tags between registries; a second run copies
    /// nothing.
    Mirror {
        /// PROVIDER:REGISTRY/REPOSITORY.
        src: String,
        /// PROVIDER:REGISTRY/REPOSITORY.
        dst: String,
        /// Only tags matching this regular expression.
        #[arg(long, value_name = "REGEX")]
        tags: Option<String>,
        /// Only tags updated within this long (30d, 12h), as the source's
        /// API lists them.
        #[arg(long, value_name = "AGE", value_parser = parse_duration)]
        since: Option<Duration>,
        /// Leave referrers (signatures, SBOMs) and cosign-style tags behind.
        #[arg(long)]
        no_referrers: bool,
    },
}

/// What a provider command needs besides the command.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// The organization: Humanitec's org id, Buildkite's org slug, ABEJA's
    /// organization id (the emulator's demo organization by default with
    /// --emulator).
    #[arg(long, global = true, env = "REGKIT_ORG", value_name = "ORG")]
    pub org: Option<String>,
    /// The registry (name or id) when the account has several, for `tags`,
    /// `login`, `k8s-secret`, `prune` and `gc`. `ls` does not read it: `ls`
    /// alone lists the registries, `ls REGISTRY` names its own.
    #[arg(long, global = true, env = "REGKIT_REGISTRY", value_name = "REGISTRY")]
    pub registry: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the registries, or with REGISTRY the repositories in it.
    /// `--registry` and REGKIT_REGISTRY do not change what `ls` lists.
    Ls {
        // Its own argument id: under the id `registry`, clap would fill it
        // from the global `--registry` (and REGKIT_REGISTRY).
        /// A registry (name or id): list its repositories.
        #[arg(id = "ls_registry", value_name = "REGISTRY")]
        registry: Option<String>,
    },
    /// List a repository's images: each tag, and each untagged manifest.
    Tags {
        /// The repository (may hold `/`).
        repository: String,
        /// Show each tag's image graph, read through the registry: index →
        /// platforms → referrers (signatures, SBOMs, attestations), with
        /// sizes.
        #[arg(long)]
        tree: bool,
    },
    /// Mint a short-lived Docker credential for the registry.
    Login(LoginArgs),
    /// Print a Kubernetes Secret (type kubernetes.io/dockerconfigjson) with
    /// a freshly minted credential. The output holds the password: pipe it
    /// to `kubectl apply -f -`.
    #[command(name = "k8s-secret")]
    K8sSecret(K8sSecretArgs),
    /// Plan (or with --apply, carry out) deleting old tags.
    Prune(PruneArgs),
    /// Start a garbage collection (or join the running one).
    Gc(GcArgs),
    /// Call any operation of the provider's API, its parameters as flags
    /// and its JSON body from a file or stdin (`call --help` lists them).
    #[command(disable_help_flag = true)]
    Call {
        /// The operation and its flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

/// `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// How long the credential lasts (where the provider lets the caller
    /// choose): 30m, 1h, 12h, … from 1s to 365d. Zero is refused.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Mint a credential that never expires (DigitalOcean, IONOS). It
    /// stays valid until revoked: prefer --ttl.
    #[arg(long, conflicts_with_all = ["ttl", "helper"])]
    pub never_expire: bool,
    /// Merge the credential into Docker's config.json ($DOCKER_CONFIG, else
    /// ~/.docker), keeping every other entry.
    #[arg(long)]
    pub write: bool,
    /// Print the password (once, to stdout, nothing else).
    #[arg(long, conflicts_with_all = ["write", "helper"])]
    pub print: bool,
    /// Instead of storing a password, make Docker ask
    /// docker-credential-regkit for this registry's host (credHelpers).
    #[arg(long, conflicts_with = "write")]
    pub helper: bool,
    /// Ask for a credential that can push as well as pull.
    #[arg(long)]
    pub push: bool,
}

/// `k8s-secret`.
#[derive(Debug, Args)]
pub struct K8sSecretArgs {
    /// The Secret's name.
    #[arg(long, default_value = "regkit-registry")]
    pub name: String,
    /// The Secret's namespace.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// How long the credential lasts: from 1s to 365d. Zero is refused.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Mint a credential that never expires (DigitalOcean, IONOS). It
    /// stays valid until revoked: prefer --ttl.
    #[arg(long, conflicts_with = "ttl")]
    pub never_expire: bool,
}

impl LoginArgs {
    /// The credential's lifetime: `--ttl`, or `--never-expire`.
    pub fn lifetime(&self) -> Lifetime {
        lifetime(self.ttl, self.never_expire)
    }
}

impl K8sSecretArgs {
    /// The credential's lifetime: `--ttl`, or `--never-expire`.
    pub fn lifetime(&self) -> Lifetime {
        lifetime(self.ttl, self.never_expire)
    }
}

fn lifetime(ttl: Duration, never_expire: bool) -> Lifetime {
    if never_expire {
        Lifetime::NeverExpires
    } else {
        Lifetime::Ttl(ttl)
    }
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep the newest N tags of each repository.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub keep: Option<usize>,
    /// Delete tags older than this (30d, 12h, 45m).
    #[arg(long, value_name = "AGE", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Never delete tags matching this regular expression (repeatable;
    /// `latest` and semantic-version releases are always protected).
    #[arg(long, value_name = "REGEX")]
    pub protect: Vec<String>,
    /// Only repositories matching this regular expression (repeatable).
    #[arg(long = "repository", value_name = "REGEX")]
    pub repositories: Vec<String>,
    /// Delete (asks first on a terminal unless --yes; needs --yes when
    /// stdin is not a terminal). Without it, only the plan is shown.
    #[arg(long, conflicts_with = "out")]
    pub apply: bool,
    /// Keep this manifest (sha256:…) and everything it reaches, whatever
    /// the other rules say (repeatable).
    #[arg(long, value_name = "DIGEST")]
    pub pin: Vec<String>,
    /// Keep referrers (signatures, SBOMs, cosign-style tags) of deleted
    /// images; by default they go with their subject.
    #[arg(long)]
    pub keep_orphaned_referrers: bool,
    /// Plan from the management listing alone, without reading the image
    /// graph through the registry. Unsafe where the provider has a data
    /// plane: an untagged manifest may be a platform or a signature a
    /// kept image still needs.
    #[arg(long)]
    pub no_graph: bool,
    /// Write the plan to this file (versioned JSON) instead of showing it;
    /// `--apply-plan FILE` carries it out later.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Carry out a plan written by `--out` (after the same confirmation as
    /// --apply). Refused when it was made for another provider or
    /// registry, or longer ago than --max-plan-age.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["keep", "older_than", "protect", "repositories", "pin", "keep_orphaned_referrers", "apply", "out", "no_graph"])]
    pub apply_plan: Option<std::path::PathBuf>,
    /// The oldest plan --apply-plan carries out (default 24h).
    #[arg(long, value_name = "AGE", value_parser = parse_duration, requires = "apply_plan")]
    pub max_plan_age: Option<Duration>,
}

/// `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// What to collect.
    #[arg(long = "type", value_enum, default_value_t = GcType::UntaggedManifestsAndUnreferencedBlobs)]
    pub kind: GcType,
    /// Follow the collection to its end.
    #[arg(long)]
    pub wait: bool,
    /// Start a collection of untagged manifests even though kept images
    /// still reference some (platforms of tagged indexes, referrers of
    /// tagged images), which the provider may delete.
    #[arg(long)]
    pub force: bool,
}

/// `gc --type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GcType {
    /// Untagged manifests, then unreferenced blobs.
    UntaggedManifestsAndUnreferencedBlobs,
    /// Untagged manifests only.
    UntaggedManifestsOnly,
    /// Unreferenced blobs only.
    UnreferencedBlobsOnly,
}

impl From<GcType> for regkit_workflows::view::GcKind {
    fn from(t: GcType) -> Self {
        use regkit_workflows::view::GcKind;
        match t {
            GcType::UntaggedManifestsAndUnreferencedBlobs => {
                GcKind::UntaggedManifestsAndUnreferencedBlobs
            }
            GcType::UntaggedManifestsOnly => GcKind::UntaggedManifestsOnly,
            GcType::UnreferencedBlobsOnly => GcKind::UnreferencedBlobsOnly,
        }
    }
}

/// A count (`--keep 10`): a whole number from 0. Every numeric flag takes
/// `allow_negative_numbers`, so `-1` reaches this parser and the error
/// names the flag instead of calling `-1` an unexpected argument.
pub fn parse_count(s: &str) -> Result<usize, String> {
    let digits = s.trim();
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
            .parse()
            .map_err(|_| format!("`{s}` is too large: at most {}", usize::MAX))
    } else {
        Err(format!(
            "`{s}` is not a count: give a whole number, 0 or more"
        ))
    }
}

/// `30d`, `12h`, `45m`, `90s` (and what humantime reads: `1h 30m`, …).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 30d, 12h or 45m: {e}"))
}

/// A credential's TTL: a duration ([`parse_duration`]) from 1s to 365d.
/// Zero is refused, never read as "no expiry": a credential that never
/// expires is asked for by name (`--never-expire`).
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let ttl = parse_duration(s)?;
    if ttl.is_zero() {
        return Err(format!(
            "`{s}` is zero; a TTL must be at least 1s (a credential that never expires \
             is minted only with --never-expire)"
        ));
    }
    if ttl < MIN_TTL {
        return Err(format!("`{s}` is shorter than the minimum TTL of 1s"));
    }
    if ttl > MAX_TTL {
        return Err(format!("`{s}` is longer than the maximum TTL of 365d"));
    }
    Ok(ttl)
}
