//! Copies between the emulator's registries through regkit-workflows'
//! `copy`: DigitalOcean → IONOS and Buildkite → DigitalOcean with every
//! platform, referrer and cosign-style tag, digests kept; mounts within
//! one registry; a second run that copies nothing; a source serving bad
//! bytes that tags nothing; the minted IONOS token revoked afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use regkit_emulator::{Emulator, FaultRule, Provider};
use regkit_tests::registry::{HOSTING, Image, site};
use regkit_workflows::copy::{self, CopyOptions, CopyReport, Side};
use regkit_workflows::graph::GraphSession;
use regkit_workflows::view::Registry;

use super::image_graph::{account, hex, pull_all, registry_of, scenario, writer};

/// A data-plane session of `p`'s registry `reg`, pushing when `push`.
async fn session(emu: &Emulator, p: Provider, push: bool) -> (GraphSession, Registry) {
    let account = account(emu, p);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let source = account.credentials(&registry, Arc::new(emu.clock().clone()));
    let s = GraphSession::open_with(view.as_ref(), &registry, source, push)
        .await
        .unwrap()
        .expect("a data plane");
    (s, registry)
}

/// The requests by operation between two counts (those that changed).
fn sent_since(
    before: &BTreeMap<&'static str, u64>,
    after: &BTreeMap<&'static str, u64>,
) -> Vec<(&'static str, u64)> {
    after
        .iter()
        .map(|(op, n)| (*op, n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn side(s: &GraphSession, name: &str) -> Side {
    Side::new(s.reader().client().clone(), name)
}

async fn ionos_tokens(emu: &Emulator) -> usize {
    let (status, body) = regkit_tests::emulator::raw(
        emu,
        Provider::Ionos,
        reqwest::Method::GET,
        "/registries/reg-id/tokens",
        Some(format!(
            "Bearer {}",
            emu.token(Provider::Ionos).expose_secret()
        )),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn digitalocean_to_ionos_copies_every_platform_and_referrer_and_a_second_run_copies_nothing()
{
    let emu = regkit_tests::registry::emulator().await;
    let from = site(&emu, Provider::DigitalOcean).await;
    let to = site(&emu, Provider::Ionos).await;
    let c = scenario(&writer(&from), &from.name("app")).await;
    let tokens_before = ionos_tokens(&emu).await;
    let (src, _) = session(&emu, Provider::DigitalOcean, false).await;
    let (dst, _) = session(&emu, Provider::Ionos, true).await;
    assert_eq!(
        ionos_tokens(&emu).await,
        tokens_before + 1,
        "a token minted"
    );
    let mut report = CopyReport::default();
    let digest = copy::copy(
        &side(&src, &from.name("app")),
        &side(&dst, "prod/app"),
        "a-keep",
        None,
        &CopyOptions::default(),
        &mut report,
    )
    .await
    .unwrap();
    assert_eq!(digest, c.kept_index, "the digest is kept");
    assert!(report.is_complete(), "{report}");
    // The index, its two platforms, its signature, its cosign SBOM.
    assert_eq!(report.manifests_copied.len(), 5, "{report}");
    let sbom_tag = format!("sha256-{}.sbom", hex(&c.kept_index));
    // The SBOM's tag with the graph, the image's own tag last.
    assert_eq!(
        report.tags_written,
        [sbom_tag.clone(), "a-keep".to_string()],
        "{report}"
    );
    let check = writer(&to);
    pull_all(&check, "prod/app", "a-keep").await;
    pull_all(&check, "prod/app", &sbom_tag).await;
    let referrers = check.referrers("prod/app", &c.kept_index).await.unwrap();
    assert!(
        referrers
            .descriptors
            .iter()
            .any(|d| d.digest().to_string() == c.kept_signature)
    );
    assert_eq!(
        check.manifest_digest("prod/app", "b-old").await.unwrap(),
        None
    );

    // Again: nothing is copied, nothing written, and every request is
    // one the run needs to know that.
    let (src_before, dst_before) = (
        emu.requests(Provider::DigitalOcean),
        emu.requests(Provider::Ionos),
    );
    let mut again = CopyReport::default();
    copy::copy(
        &side(&src, &from.name("app")),
        &side(&dst, "prod/app"),
        "a-keep",
        None,
        &CopyOptions::default(),
        &mut again,
    )
    .await
    .unwrap();
    assert!(again.copied_nothing(), "{again}");
    assert_eq!(again.tags_skipped.len(), 2, "{again}");
    let src_sent = sent_since(&src_before, &emu.requests(Provider::DigitalOcean));
    let dst_sent = sent_since(&dst_before, &emu.requests(Provider::Ionos));
    // The source: its tag list (for cosign-style tags), the image, its
    // signature and its SBOM read, and a referrers query for each of the
    // three (the platforms are not visited: the index is there already).
    assert_eq!(
        src_sent,
        [
            ("oci_manifest_get", 3),
            ("oci_referrers_list", 3),
            ("oci_tags_list", 1),
        ],
        "the second run's requests at the source"
    );
    // The destination: one HEAD per manifest visited and per tag, nothing
    // else (no blob, no write).
    assert_eq!(
        dst_sent,
        [("oci_manifest_head", 5)],
        "the second run's requests at the destination"
    );

    // A mirror of every tag (cosign-style tags travel with their subject).
    let tags: Vec<String> = src.reader().client().tags(&from.name("app")).await.unwrap();
    let mirrored = copy::mirror(
        &side(&src, &from.name("app")),
        &side(&dst, "mirror/app"),
        &tags,
        &CopyOptions::default(),
    )
    .await
    .unwrap();
    assert!(mirrored.is_complete(), "{mirrored}");
    let mut got = check.tags("mirror/app").await.unwrap();
    got.sort();
    let mut want = tags.clone();
    want.sort();
    assert_eq!(got, want);
    for tag in &tags {
        pull_all(&check, "mirror/app", tag).await;
    }
    src.close().await.unwrap();
    dst.close().await.unwrap();
    assert_eq!(
        ionos_tokens(&emu).await,
        tokens_before,
        "the minted token is revoked"
    );
}

#[tokio::test]
async fn buildkite_to_digitalocean_and_within_one_registry_blobs_are_mounted() {
    let emu = regkit_tests::registry::emulator().await;
    let bk = site(&emu, Provider::Buildkite).await;
    let d = site(&emu, Provider::DigitalOcean).await;
    let image = Image::new("amd64", 2, 5000, None);
    let w = writer(&bk);
    for blob in image.blobs() {
        w.push_blob(&bk.name("web"), Bytes::from(blob.clone()))
            .await
            .unwrap();
    }
    w.put_manifest(
        &bk.name("web"),
        "v1",
        regkit_oci::manifest::OCI_MANIFEST,
        Bytes::from(image.manifest.clone()),
    )
    .await
    .unwrap();
    let (src, _) = session(&emu, Provider::Buildkite, false).await;
    let (dst, _) = session(&emu, Provider::DigitalOcean, true).await;
    let mut report = CopyReport::default();
    copy::copy(
        &side(&src, &bk.name("web")),
        &side(&dst, &d.name("web")),
        "v1",
        Some("promoted"),
        &CopyOptions::default(),
        &mut report,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.blobs_copied, report.blobs_mounted),
        (3, 0),
        "{report}"
    );
    assert_eq!(report.bytes_copied, image.blob_bytes());
    let check = writer(&d);
    assert_eq!(
        check
            .manifest_digest(&d.name("web"), "promoted")
            .await
            .unwrap(),
        Some(image.digest.clone())
    );
    pull_all(&check, &d.name("web"), "promoted").await;

    // Within DigitalOcean's registry: mounted, not copied.
    let mut within = CopyReport::default();
    copy::copy(
        &side(&dst, &d.name("web")),
        &side(&dst, &d.name("web-copy")),
        "promoted",
        None,
        &CopyOptions::default(),
        &mut within,
    )
    .await
    .unwrap();
    assert_eq!(
        (within.blobs_copied, within.blobs_mounted),
        (0, 3),
        "{within}"
    );
    pull_all(&check, &d.name("web-copy"), "promoted").await;
    src.close().await.unwrap();
    dst.close().await.unwrap();
}

#[tokio::test]
async fn a_source_that_serves_bad_bytes_fails_the_copy_and_tags_nothing() {
    let emu = regkit_tests::registry::emulator().await;
    let from = site(&emu, Provider::DigitalOcean).await;
    let to = site(&emu, Provider::Ionos).await;
    let image = Image::new("amd64", 1, 300_000, None);
    let w = writer(&from);
    for blob in image.blobs() {
        w.push_blob(&from.name("app"), Bytes::from(blob.clone()))
            .await
            .unwrap();
    }
    w.put_manifest(
        &from.name("app"),
        "v1",
        regkit_oci::manifest::OCI_MANIFEST,
        Bytes::from(image.manifest.clone()),
    )
    .await
    .unwrap();
    let tokens_before = ionos_tokens(&emu).await;
    let (src, _) = session(&emu, Provider::DigitalOcean, false).await;
    let (dst, _) = session(&emu, Provider::Ionos, true).await;
    // Every blob read is cut short, and so is every read that resumes it:
    // the blob never arrives whole.
    emu.inject(FaultRule::truncate().operation("oci_blob_get"));
    let mut report = CopyReport::default();
    let failed = copy::copy(
        &side(&src, &from.name("app")),
        &side(&dst, "app"),
        "v1",
        None,
        &CopyOptions::default(),
        &mut report,
    )
    .await;
    assert!(failed.is_err(), "{report}");
    emu.clear_faults();
    let check = writer(&to);
    assert_eq!(
        check.manifest_digest("app", "v1").await.unwrap(),
        None,
        "nothing tagged"
    );
    assert!(report.tags_written.is_empty());
    // Even after a failure, the minted token is revoked.
    src.close().await.unwrap();
    dst.close().await.unwrap();
    assert_eq!(ionos_tokens(&emu).await, tokens_before);
    // And once the source is whole again, the copy completes.
    let (src, _) = session(&emu, Provider::DigitalOcean, false).await;
    let (dst, _) = session(&emu, Provider::Ionos, true).await;
    copy::copy(
        &side(&src, &from.name("app")),
        &side(&dst, "app"),
        "v1",
        None,
        &CopyOptions::default(),
        &mut report,
    )
    .await
    .unwrap();
    pull_all(&check, "app", "v1").await;
    src.close().await.unwrap();
    dst.close().await.unwrap();
}

/// Pushes a one-platform image and a signature that names it
/// (`subject`) to `name`, tagged `tag`: (image, signature).
async fn image_with_signature(c: &regkit_oci::Client, name: &str, tag: &str) -> (Image, Image) {
    let image = Image::new("amd64", 2, 40_000, None);
    let signature = Image::new("sig", 1, 100, Some((&image.digest, image.manifest.len())));
    for (m, reference) in [(&image, tag), (&signature, signature.digest.as_str())] {
        for blob in m.blobs() {
            c.push_blob(name, Bytes::from(blob.clone())).await.unwrap();
        }
        c.put_manifest(
            name,
            reference,
            regkit_oci::manifest::OCI_MANIFEST,
            Bytes::from(m.manifest.clone()),
        )
        .await
        .unwrap();
    }
    (image, signature)
}

/// A pushing session at `p`: a minted credential, or on Buildkite (whose
/// registry tokens only read) the API token, as `regkit copy` does.
async fn push_session(emu: &Emulator, p: Provider) -> GraphSession {
    if p != Provider::Buildkite {
        return session(emu, p, true).await.0;
    }
    let account = account(emu, p);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let login = regkit_workflows::graph::Login::new(
        regkit_workflows::providers::buildkite_username(),
        emu.token(p).expose_secret(),
    );
    GraphSession::with_login(view.as_ref(), &registry, Some(login))
        .unwrap()
        .expect("a data plane")
}

#[tokio::test]
async fn every_pair_of_providers_with_a_data_plane_copies_both_ways() {
    let emu = regkit_tests::registry::emulator().await;
    let mut sites = BTreeMap::new();
    for p in HOSTING {
        sites.insert(p.name(), site(&emu, p).await);
    }
    for from in HOSTING {
        for to in HOSTING {
            if from == to {
                continue;
            }
            let (s_from, s_to) = (&sites[from.name()], &sites[to.name()]);
            let repo = format!("pair-{}-{}", from.name(), to.name());
            let (image, signature) =
                image_with_signature(&writer(s_from), &s_from.name(&repo), "v1").await;
            let (src, _) = session(&emu, from, false).await;
            let dst = push_session(&emu, to).await;
            let mut report = CopyReport::default();
            let digest = copy::copy(
                &side(&src, &s_from.name(&repo)),
                &side(&dst, &s_to.name(&repo)),
                "v1",
                None,
                &CopyOptions::default(),
                &mut report,
            )
            .await
            .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert_eq!(digest, image.digest, "{from} -> {to}");
            assert_eq!(report.manifests_copied.len(), 2, "{from} -> {to}: {report}");
            let check = writer(s_to);
            pull_all(&check, &s_to.name(&repo), "v1").await;
            let referrers = check
                .referrers(&s_to.name(&repo), &image.digest)
                .await
                .unwrap();
            assert!(
                referrers
                    .descriptors
                    .iter()
                    .any(|d| d.digest().to_string() == signature.digest),
                "{from} -> {to}: the signature came along"
            );
            src.close().await.unwrap();
            dst.close().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_connection_reset_mid_blob_is_resumed_where_it_broke() {
    let emu = regkit_tests::registry::emulator().await;
    let from = site(&emu, Provider::DigitalOcean).await;
    let to = site(&emu, Provider::Ionos).await;
    let (image, signature) = image_with_signature(&writer(&from), &from.name("app"), "v1").await;
    let (src, _) = session(&emu, Provider::DigitalOcean, false).await;
    let (dst, _) = session(&emu, Provider::Ionos, true).await;
    // The first blob read breaks off halfway through its body.
    emu.inject(
        FaultRule::truncate()
            .provider(Provider::DigitalOcean)
            .operation("oci_blob_get")
            .times(1),
    );
    let before = emu.requests(Provider::DigitalOcean);
    let mut report = CopyReport::default();
    copy::copy(
        &side(&src, &from.name("app")),
        &side(&dst, "app"),
        "v1",
        None,
        &CopyOptions::default(),
        &mut report,
    )
    .await
    .unwrap();
    let after = emu.requests(Provider::DigitalOcean);
    let blobs = image.blobs().count() + signature.blobs().count();
    assert_eq!(report.blobs_copied, blobs, "{report}");
    assert_eq!(
        sent_since(&before, &after)
            .into_iter()
            .find(|(op, _)| *op == "oci_blob_get"),
        Some(("oci_blob_get", blobs as u64 + 1)),
        "one more read than blobs: the broken one's rest"
    );
    pull_all(&writer(&to), "app", "v1").await;
    src.close().await.unwrap();
    dst.close().await.unwrap();
}

#[tokio::test]
async fn an_ionos_destination_token_reaches_only_its_repository() {
    let emu = regkit_tests::registry::emulator().await;
    let to = site(&emu, Provider::Ionos).await;
    let account = account(&emu, Provider::Ionos);
    let view = account.view();
    let registry = registry_of(view.as_ref()).await;
    let mut source = account
        .credentials(&registry, Arc::new(emu.clock().clone()))
        .unwrap();
    assert!(source.narrow_to_repository("prod/web"));
    let dst = GraphSession::open_with(view.as_ref(), &registry, Some(source), true)
        .await
        .unwrap()
        .unwrap();
    let c = dst.reader().client();
    c.push_blob("prod/web", Bytes::from_static(b"layer"))
        .await
        .unwrap();
    let refused = c
        .push_blob("prod/other", Bytes::from_static(b"layer"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("403") || refused.to_string().contains("DENIED"),
        "{refused}"
    );
    let _ = to;
    dst.close().await.unwrap();
}
