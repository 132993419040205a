//! Retention: rules turned into a deterministic [`Plan`] that deletes
//! nothing, and an [`apply`] that carries a plan out and reports exactly
//! what was and was not done.
//!
//! The phases live in their own files: [`rules`] (what to keep and what
//! to delete), the planner in `plan.rs` ([`plan`] lists through a view,
//! then the pure [`plan_listing`] indexes what was listed, ranks the
//! candidates and decides), and `apply.rs` ([`apply`], checked deletes).
//!
//! # How a tag is judged
//!
//! Per repository (only those matching [`Rules::repositories`], when it is
//! not empty):
//!
//! 1. A tag matching a [`protect`](Rules::protect) pattern is kept, and so
//!    is every manifest a protected tag points to: another tag on that
//!    manifest may still be deleted, the manifest never is.
//! 2. The other tags are *candidates* when they match an
//!    [`include`](Rules::include) pattern (any tag, when `include` is empty)
//!    and no [`exclude`](Rules::exclude) pattern. Tags that are not
//!    candidates are kept.
//! 3. Candidates are ranked newest first (by `updated_at`; a tag whose time
//!    the provider does not give ranks as newest, ties go by tag name in
//!    ascending order). With [`keep_newest`](Rules::keep_newest) = N, the
//!    first N candidates are kept. N counts candidates only: protected and
//!    excluded tags are kept on top of them.
//! 4. A candidate is deleted when every age/count rule that is set says so:
//!    - only `keep_newest`: it is beyond the newest N ([`Rule::KeepNewest`]);
//!    - only `older_than`: it was updated before `now - older_than`
//!      ([`Rule::OlderThan`]; a tag of unknown age is never older);
//!    - both: it is beyond the newest N **and** older than the cutoff
//!      ([`Rule::KeepNewestAndOlderThan`]): `keep_newest` is a floor that
//!      age never goes below;
//!    - neither: nothing is deleted by age or count.
//!
//! Manifests (when the view can delete manifests,
//! [`Capability::DeleteManifest`](crate::Capability::DeleteManifest)): a manifest whose every tag this plan
//! deletes is deleted after its tags ([`Rule::Untagged`]); a manifest that
//! was untagged already is deleted when [`Rules::delete_untagged`] is on,
//! `older_than` is set and it is older than the cutoff
//! ([`Rule::UntaggedOlderThan`]). When the view cannot delete manifests,
//! the plan deletes tags only and the garbage collection frees what they
//! leave untagged. Where deleting a tag removes the manifest with its last
//! tag ([`TagDeletion::RemovesManifestWithLastTag`](crate::view::TagDeletion::RemovesManifestWithLastTag): a Buildkite package
//! version is the image), the plan deletes the tags and no manifest left
//! without them, so every plan applies to completion.
//!
//! # Checked deletes
//!
//! A plan is a picture of the registry at one moment; [`apply`] acts on
//! what that picture showed or not at all. Right before each deletion it
//! re-reads, through the provider's API, what it would delete
//! ([`RegistryView::tag_digest`](crate::view::RegistryView::tag_digest), [`RegistryView::manifest_tags`](crate::view::RegistryView::manifest_tags)):
//!
//! - a tag is deleted only while it still names the planned digest (a tag
//!   pushed again since the plan is skipped, [`Change::TagMoved`]);
//! - a manifest is deleted only while it exists and has no tag (a tag
//!   moved onto it since the plan, a rollback of `latest` say, skips it,
//!   [`Change::ManifestTagged`]);
//! - what is gone already is skipped ([`Change::TagGone`],
//!   [`Change::ManifestGone`]), and so is a delete answered 404.
//!
//! Skips are reported in [`ApplyReport::changed`] and do not stop the run
//! or make it incomplete. What remains is the window of one request between
//! the re-read and the delete: no registry API offers a conditional delete.
//!
//! # Order and bytes
//!
//! A plan lists tag deletions first (by repository, then tag), then
//! manifest deletions (by repository, then digest): the order [`apply`]
//! follows. A manifest deletion carries the bytes it frees (its size, when
//! the provider says); a tag deletion frees nothing by itself (`Some(0)`),
//! except where manifests cannot be deleted: there the first deleted tag
//! of a manifest left without tags carries its size. A manifest's size
//! counts layers it may share with images that stay, so the plan's bytes
//! are an upper bound of what the garbage collection frees.
//!
//! ```no_run
//! # async fn demo(view: &dyn regkit_workflows::view::RegistryView) -> regkit_workflows::Result<()> {
//! use std::time::Duration;
//! use regkit_workflows::retention::{self, ApplyOptions, Rules};
//!
//! let registry = view.registries().await?.remove(0);
//! let rules = Rules::new()
//!     .keep_newest(10)
//!     .older_than(Duration::from_secs(30 * 86_400))
//!     .exclude(r"^keep-")?;
//! let plan = retention::plan(view, &registry, &rules, chrono::Utc::now()).await?;
//! println!("{plan}");
//! let report = retention::apply(view, &plan, ApplyOptions::default()).await?;
//! assert!(report.is_complete());
//! # Ok(()) }
//! ```

mod apply;
mod plan;
pub mod rules;
mod text;

pub use apply::{ApplyOptions, ApplyReport, Change, Skipped, apply};
pub use plan::{
    Deletion, KeptGraph, Listing, ManifestFate, PLAN_FORMAT, Plan, Totals, plan, plan_listing,
    plan_with_graph,
};
pub use rules::{PROTECT_LATEST, PROTECT_SEMVER, Rule, Rules};
