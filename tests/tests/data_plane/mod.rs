//! The emulator's data plane (the OCI Distribution API), for every
//! provider that hosts images: every endpoint, the auth matrix, one store
//! behind both APIs, garbage collection freeing exact bytes, faults,
//! snapshots and the data directory; in `image_graph`, retention and the
//! garbage-collection preflight reading the graph through it; in `copy`,
//! images copied between providers; in `blob_resume`, regkit-oci's blob
//! reads resumed against a hostile registry.

use regkit_emulator::{Emulator, FaultRule, Provider, UntaggedCollection};
use regkit_tests::emulator::raw;
use regkit_tests::registry::{
    HOSTING, Image, OCI_INDEX, OCI_MANIFEST, Oci, Site, index, sha256, site,
};
use reqwest::Method;
use serde_json::{Value, json};

mod blob_resume;
mod copy;
mod image_graph;

async fn emulator() -> Emulator {
    regkit_tests::registry::emulator().await
}

fn api_bearer(emu: &Emulator, p: Provider) -> Option<String> {
    Some(format!("Bearer {}", emu.token(p).expose_secret()))
}

#[tokio::test]
async fn pull_what_was_pushed_by_tag_and_digest_byte_exact() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("team/app");
        let image = Image::new("amd64", 2, 3000, None);
        oci.push_image(&name, "v1", &image).await;
        for reference in ["v1", image.digest.as_str()] {
            let got = oci
                .send(
                    Method::GET,
                    &format!("/v2/{name}/manifests/{reference}"),
                    &[("accept", OCI_MANIFEST)],
                    vec![],
                )
                .await;
            assert_eq!(got.status, 200, "{p} {reference}");
            assert_eq!(got.body, image.manifest, "{p}: byte-exact");
            assert_eq!(
                got.header("docker-content-digest"),
                Some(image.digest.as_str())
            );
            assert_eq!(got.header("content-type"), Some(OCI_MANIFEST));
            let head = oci
                .send(
                    Method::HEAD,
                    &format!("/v2/{name}/manifests/{reference}"),
                    &[],
                    vec![],
                )
                .await;
            assert_eq!(head.status, 200);
            assert_eq!(
                head.header("content-length"),
                Some(image.manifest.len().to_string().as_str())
            );
            assert!(head.body.is_empty());
        }
        // Accept that does not list the type: not served.
        let refused = oci
            .send(
                Method::GET,
                &format!("/v2/{name}/manifests/v1"),
                &[("accept", OCI_INDEX)],
                vec![],
            )
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code().as_deref()),
            (404, Some("MANIFEST_UNKNOWN"))
        );
        for blob in image.blobs() {
            let got = oci.get(&format!("/v2/{name}/blobs/{}", sha256(blob))).await;
            assert_eq!((got.status.as_u16(), &got.body), (200, blob), "{p}");
        }
        // Ranges.
        let layer = &image.layers[0];
        let d = sha256(layer);
        let part = oci
            .send(
                Method::GET,
                &format!("/v2/{name}/blobs/{d}"),
                &[("range", "bytes=10-19")],
                vec![],
            )
            .await;
        assert_eq!(part.status, 206);
        assert_eq!(part.body, layer[10..=19]);
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes 10-19/{}", layer.len()).as_str())
        );
        let tail = oci
            .send(
                Method::GET,
                &format!("/v2/{name}/blobs/{d}"),
                &[("range", "bytes=-5")],
                vec![],
            )
            .await;
        assert_eq!(tail.body, layer[layer.len() - 5..]);
        let beyond = oci
            .send(
                Method::GET,
                &format!("/v2/{name}/blobs/{d}"),
                &[("range", "bytes=99999-")],
                vec![],
            )
            .await;
        assert_eq!(beyond.status, 416);
        // Unknowns.
        let missing = oci.get(&format!("/v2/{name}/manifests/nope")).await;
        assert_eq!(missing.code().as_deref(), Some("MANIFEST_UNKNOWN"));
        let missing = oci
            .get(&format!("/v2/{name}/blobs/{}", sha256(b"none")))
            .await;
        assert_eq!(missing.code().as_deref(), Some("BLOB_UNKNOWN"));
        let bad = oci.get(&format!("/v2/{name}/blobs/sha256:xyz")).await;
        assert_eq!(bad.code().as_deref(), Some("DIGEST_INVALID"));
        let other_repo = oci.get(&format!("/v2/{}/blobs/{d}", s.name("other"))).await;
        assert_eq!(
            other_repo.status, 404,
            "{p}: a blob answers only where it is held"
        );
    }
}

#[tokio::test]
async fn uploads_chunked_monolithic_and_mounted() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("chunks");
        let blob: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let digest = sha256(&blob);
        let start = oci
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(start.status, 202, "{p}");
        let at = start.header("location").unwrap().to_string();
        let patch = |range: &str, bytes: &[u8]| {
            let (at, range, bytes) = (at.clone(), range.to_string(), bytes.to_vec());
            let oci = &oci;
            async move {
                oci.send(
                    Method::PATCH,
                    &at,
                    &[
                        ("content-range", &range),
                        ("content-type", "application/octet-stream"),
                    ],
                    bytes,
                )
                .await
            }
        };
        let first = patch("0-399", &blob[..400]).await;
        assert_eq!(
            (first.status.as_u16(), first.header("range")),
            (202, Some("0-399"))
        );
        let out_of_order = patch("500-599", &blob[500..600]).await;
        assert_eq!(out_of_order.status, 416, "{p}");
        let wrong_length = patch("400-499", &blob[400..450]).await;
        assert_eq!(wrong_length.code().as_deref(), Some("SIZE_INVALID"));
        let status = oci.get(&at).await;
        assert_eq!(
            (status.status.as_u16(), status.header("range")),
            (204, Some("0-399")),
            "nothing bad was kept"
        );
        assert_eq!(patch("400-899", &blob[400..900]).await.status, 202);
        let wrong = oci
            .send(
                Method::PUT,
                &format!("{at}?digest={}", sha256(b"x")),
                &[],
                blob[900..].to_vec(),
            )
            .await;
        assert_eq!(wrong.code().as_deref(), Some("DIGEST_INVALID"));
        assert_eq!(
            oci.get(&at).await.header("range"),
            Some("0-999"),
            "a bad digest loses nothing"
        );
        let done = oci
            .send(Method::PUT, &format!("{at}?digest={digest}"), &[], vec![])
            .await;
        assert_eq!(done.status, 201, "{p} {:?}", done.json());
        assert_eq!(done.header("docker-content-digest"), Some(digest.as_str()));
        assert_eq!(
            oci.get(&format!("/v2/{name}/blobs/{digest}")).await.body,
            blob
        );
        assert_eq!(
            oci.get(&at).await.code().as_deref(),
            Some("BLOB_UPLOAD_UNKNOWN"),
            "closed"
        );

        // One POST with the digest.
        let single = b"single post";
        let posted = oci
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/?digest={}", sha256(single)),
                &[],
                single.to_vec(),
            )
            .await;
        assert_eq!(posted.status, 201, "{p}");
        // SHA-512.
        let mut h = ring::digest::Context::new(&ring::digest::SHA512);
        h.update(single);
        let hex: String = h
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let posted = oci
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/?digest=sha512:{hex}"),
                &[],
                single.to_vec(),
            )
            .await;
        assert_eq!(posted.status, 201, "{p}: sha512");

        // Mount: from a repository that holds it, 201; else an upload.
        let target = s.name("mounted");
        let mount = oci
            .send(
                Method::POST,
                &format!("/v2/{target}/blobs/uploads/?mount={digest}&from={name}"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(mount.status, 201, "{p}");
        assert_eq!(
            oci.get(&format!("/v2/{target}/blobs/{digest}"))
                .await
                .status,
            200
        );
        let fallback = oci
            .send(
                Method::POST,
                &format!(
                    "/v2/{target}/blobs/uploads/?mount={}&from={name}",
                    sha256(b"nope")
                ),
                &[],
                vec![],
            )
            .await;
        assert_eq!(
            fallback.status, 202,
            "{p}: no such blob, an upload session instead"
        );
        // Cancel.
        let at = fallback.header("location").unwrap().to_string();
        assert_eq!(oci.send(Method::DELETE, &at, &[], vec![]).await.status, 204);
        assert_eq!(oci.get(&at).await.status, 404);
    }
}

#[tokio::test]
async fn manifests_are_checked_and_limited() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("checks");
        let image = Image::new("amd64", 1, 100, None);
        let missing = oci
            .put_manifest(&name, "v1", OCI_MANIFEST, &image.manifest)
            .await;
        assert_eq!(
            missing.code().as_deref(),
            Some("MANIFEST_BLOB_UNKNOWN"),
            "{p}: blobs come first"
        );
        for blob in image.blobs() {
            oci.push_blob(&name, blob).await;
        }
        let wrong_digest = oci
            .put_manifest(&name, &sha256(b"other"), OCI_MANIFEST, &image.manifest)
            .await;
        assert_eq!(wrong_digest.code().as_deref(), Some("DIGEST_INVALID"));
        let by_digest = oci
            .put_manifest(&name, &image.digest, OCI_MANIFEST, &image.manifest)
            .await;
        assert_eq!(by_digest.status, 201);
        let mismatch = oci
            .put_manifest(&name, "v1", OCI_INDEX, &image.manifest)
            .await;
        assert_eq!(
            mismatch.code().as_deref(),
            Some("MANIFEST_INVALID"),
            "Content-Type against mediaType"
        );
        // 4 MiB is accepted, more is 413.
        let pad = |n: usize| {
            let mut m: Value = serde_json::from_slice(&image.manifest).unwrap();
            m["annotations"] = json!({"pad": ""});
            let base = m.to_string().len();
            m["annotations"]["pad"] = json!("x".repeat(n - base));
            m.to_string().into_bytes()
        };
        let four = pad(4 << 20);
        assert_eq!(four.len(), 4 << 20);
        assert_eq!(
            oci.put_manifest(&name, "big", OCI_MANIFEST, &four)
                .await
                .status,
            201,
            "{p}"
        );
        let over = oci
            .put_manifest(&name, "bigger", OCI_MANIFEST, &pad((4 << 20) + 1))
            .await;
        assert_eq!(over.status, 413, "{p}");
    }
}

#[tokio::test]
async fn tags_page_with_n_last_and_link() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("paged");
        let image = Image::new("amd64", 1, 10, None);
        oci.push_image(&name, "t00", &image).await;
        for i in 1..25 {
            let put = oci
                .put_manifest(&name, &format!("t{i:02}"), OCI_MANIFEST, &image.manifest)
                .await;
            assert_eq!(put.status, 201);
        }
        let mut seen = Vec::new();
        let mut next = Some(format!("/v2/{name}/tags/list?n=10"));
        while let Some(url) = next.take() {
            let page = oci.get(&url).await;
            assert_eq!(page.status, 200, "{p}");
            let tags = page.json()["tags"].as_array().unwrap().clone();
            assert!(tags.len() <= 10);
            seen.extend(tags.into_iter().map(|t| t.as_str().unwrap().to_string()));
            next = page.header("link").map(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string()
            });
        }
        let want: Vec<String> = (0..25).map(|i| format!("t{i:02}")).collect();
        assert_eq!(seen, want, "{p}: every tag once, in order");
        let after = oci.get(&format!("/v2/{name}/tags/list?last=t22")).await;
        assert_eq!(after.json()["tags"], json!(["t23", "t24"]));
        let unknown = oci
            .get(&format!("/v2/{}/tags/list", s.name("nothing")))
            .await;
        assert_eq!(unknown.code().as_deref(), Some("NAME_UNKNOWN"));
    }
}

#[tokio::test]
async fn referrers_filter_and_answer_oci_subject() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("signed");
        let image = Image::new("amd64", 1, 10, None);
        oci.push_image(&name, "v1", &image).await;
        let sig = Image::new("none", 1, 10, Some((&image.digest, image.manifest.len())));
        for blob in sig.blobs() {
            oci.push_blob(&name, blob).await;
        }
        let put = oci
            .put_manifest(&name, &sig.digest, OCI_MANIFEST, &sig.manifest)
            .await;
        assert_eq!(put.status, 201);
        assert_eq!(
            put.header("oci-subject"),
            Some(image.digest.as_str()),
            "{p}"
        );
        let list = oci
            .get(&format!("/v2/{name}/referrers/{}", image.digest))
            .await;
        assert_eq!(list.status, 200);
        let body = list.json();
        assert_eq!(body["mediaType"], OCI_INDEX);
        assert_eq!(body["manifests"][0]["digest"], json!(sig.digest));
        assert_eq!(
            body["manifests"][0]["artifactType"],
            "application/vnd.example.signature"
        );
        assert_eq!(
            body["manifests"][0]["annotations"]["org.example.kind"],
            "signature"
        );
        let filtered = oci
            .get(&format!(
                "/v2/{name}/referrers/{}?artifactType=application/other",
                image.digest
            ))
            .await;
        assert_eq!(filtered.json()["manifests"], json!([]));
        assert_eq!(filtered.header("oci-filters-applied"), Some("artifactType"));
        let none = oci
            .get(&format!("/v2/{name}/referrers/{}", sha256(b"unknown")))
            .await;
        assert_eq!(
            (none.status.as_u16(), none.json()["manifests"].clone()),
            (200, json!([]))
        );
    }
    // Off: a 404, so clients fall back to the tag schema.
    let off = Emulator::builder().referrers(false).start().await.unwrap();
    let s = site(&off, Provider::DigitalOcean).await;
    let got = s
        .writer()
        .get(&format!("/v2/{}/referrers/{}", s.name("x"), sha256(b"x")))
        .await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn deletes_of_manifests_blobs_and_tags() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let oci = s.writer();
        let name = s.name("deletes");
        let image = Image::new("amd64", 1, 10, None);
        oci.push_image(&name, "v1", &image).await;
        oci.put_manifest(&name, "v2", OCI_MANIFEST, &image.manifest)
            .await;
        let tag = oci
            .send(
                Method::DELETE,
                &format!("/v2/{name}/manifests/v2"),
                &[],
                vec![],
            )
            .await;
        if p == Provider::DigitalOcean {
            assert_eq!(
                (tag.status.as_u16(), tag.code().as_deref()),
                (405, Some("UNSUPPORTED")),
                "{p}"
            );
        } else {
            assert_eq!(tag.status, 202, "{p}");
            assert_eq!(
                oci.get(&format!("/v2/{name}/manifests/v2")).await.status,
                404
            );
            assert_eq!(
                oci.get(&format!("/v2/{name}/manifests/v1")).await.status,
                200,
                "the other tag stays"
            );
        }
        let gone = oci
            .send(
                Method::DELETE,
                &format!("/v2/{name}/manifests/{}", image.digest),
                &[],
                vec![],
            )
            .await;
        assert_eq!(gone.status, 202, "{p}");
        assert_eq!(
            oci.get(&format!("/v2/{name}/manifests/v1"))
                .await
                .code()
                .as_deref(),
            Some("MANIFEST_UNKNOWN")
        );
        assert_eq!(
            oci.get(&format!("/v2/{name}/manifests/{}", image.digest))
                .await
                .status,
            404
        );
        let layer = sha256(&image.layers[0]);
        assert_eq!(
            oci.send(
                Method::DELETE,
                &format!("/v2/{name}/blobs/{layer}"),
                &[],
                vec![]
            )
            .await
            .status,
            202
        );
        assert_eq!(
            oci.get(&format!("/v2/{name}/blobs/{layer}"))
                .await
                .code()
                .as_deref(),
            Some("BLOB_UNKNOWN")
        );
        let again = oci
            .send(
                Method::DELETE,
                &format!("/v2/{name}/blobs/{layer}"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(again.status, 404);
    }
}

#[tokio::test]
async fn the_auth_matrix_per_provider() {
    let emu = emulator().await;
    let sites: Vec<Site> = futures::future::join_all(HOSTING.map(|p| site(&emu, p))).await;
    for s in &sites {
        let p = s.provider;
        let name = s.name("authz");
        let image = Image::new("amd64", 1, 10, None);
        s.writer().push_image(&name, "v1", &image).await;

        // No credentials: 401 with the provider's challenge.
        let anonymous = Oci::new(&s.host, None);
        let base = anonymous.get("/v2/").await;
        assert_eq!(
            (base.status.as_u16(), base.code().as_deref()),
            (401, Some("UNAUTHORIZED")),
            "{p}"
        );
        let challenge = base.header("www-authenticate").unwrap();
        match p {
            Provider::DigitalOcean => {
                assert!(
                    challenge.starts_with("Bearer realm=\"http://"),
                    "{challenge}"
                );
                assert!(challenge.contains("/digitalocean/v2/registry/auth"));
                assert!(challenge.contains(&format!("service=\"{}\"", s.host)));
            }
            _ => assert_eq!(challenge, format!("Basic realm=\"{}\"", s.host)),
        }
        let scoped = anonymous.get(&format!("/v2/{name}/manifests/v1")).await;
        assert_eq!(scoped.status, 401);
        if p == Provider::DigitalOcean {
            let c = scoped.header("www-authenticate").unwrap();
            assert!(
                c.contains(&format!("scope=\"repository:{name}:pull\"")),
                "{c}"
            );
        }
        assert_eq!(s.writer().get("/v2/").await.status, 200, "{p}");

        // Read-only: pulls, never pushes.
        let reader = s.reader();
        assert_eq!(
            reader.get(&format!("/v2/{name}/manifests/v1")).await.status,
            200,
            "{p}"
        );
        let push = reader
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(
            (push.status.as_u16(), push.code().as_deref()),
            (403, Some("DENIED")),
            "{p}"
        );
        let delete = reader
            .send(
                Method::DELETE,
                &format!("/v2/{name}/manifests/{}", image.digest),
                &[],
                vec![],
            )
            .await;
        assert_eq!(delete.status, 403, "{p}");

        // Another provider's credential: unknown here.
        for other in sites.iter().filter(|o| o.provider != p) {
            let foreign = Oci::new(&s.host, Some(other.write.clone()));
            let got = foreign.get(&format!("/v2/{name}/manifests/v1")).await;
            assert_eq!(got.status, 401, "{}'s credential on {p}", other.provider);
        }
        // A wrong password.
        let mut wrong = s.write.clone();
        wrong.password.push('x');
        assert_eq!(
            Oci::new(&s.host, Some(wrong)).get("/v2/").await.status,
            401,
            "{p}"
        );
    }

    // DigitalOcean: credentials of one registry do not open another, and
    // expired ones fail.
    let d = &sites[0];
    emu.seed(|w, _, now| {
        w.digitalocean
            .create_registry("second", None, None, now)
            .map(|_| ())
            .unwrap();
    });
    let second_only =
        regkit_tests::registry::digitalocean_credentials(&emu, "second", true, None).await;
    let got = Oci::new(&d.host, Some(second_only))
        .get(&format!("/v2/{}/manifests/v1", d.name("authz")))
        .await;
    assert_eq!(got.status, 403, "a registry's credentials reach only it");
    let short = regkit_tests::registry::digitalocean_credentials(&emu, "reg", true, Some(60)).await;
    assert_eq!(
        Oci::new(&d.host, Some(short.clone()))
            .get("/v2/reg/authz/tags/list")
            .await
            .status,
        200
    );
    emu.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        Oci::new(&d.host, Some(short))
            .get("/v2/reg/authz/tags/list")
            .await
            .status,
        401,
        "expired"
    );
    // The API token works as user name and password.
    let token = emu
        .token(Provider::DigitalOcean)
        .expose_secret()
        .to_string();
    let api = regkit_tests::registry::Login {
        user: token.clone(),
        password: token,
    };
    assert_eq!(
        Oci::new(&d.host, Some(api))
            .get("/v2/reg/authz/tags/list")
            .await
            .status,
        200
    );
    // A bearer token lasts 15 minutes of the virtual clock.
    let holder = d.writer();
    assert_eq!(holder.get("/v2/reg/authz/tags/list").await.status, 200);
    emu.advance(std::time::Duration::from_secs(16 * 60));
    assert_eq!(
        holder.get("/v2/reg/authz/tags/list").await.status,
        200,
        "a client gets a new token on the 401"
    );

    // IONOS: scopes by pattern, expiry, a disabled token.
    let i = &sites[1];
    let team = regkit_tests::registry::ionos_token(
        &emu,
        "reg-id",
        "team-push",
        json!([{"name": "team/*", "type": "repository", "actions": ["pull", "push"]}]),
        None,
    )
    .await;
    let team_oci = Oci::new(&i.host, Some(team.clone()));
    let ok = team_oci
        .send(Method::POST, "/v2/team/app/blobs/uploads/", &[], vec![])
        .await;
    assert_eq!(ok.status, 202);
    let outside = team_oci
        .send(Method::POST, "/v2/other/app/blobs/uploads/", &[], vec![])
        .await;
    assert_eq!(outside.code().as_deref(), Some("DENIED"));
    let expiry = (emu.now() + chrono::Duration::hours(2)).to_rfc3339();
    let expiring = regkit_tests::registry::ionos_token(
        &emu,
        "reg-id",
        "expiring",
        json!([{"name": "*", "type": "repository", "actions": ["pull"]}]),
        Some(&expiry),
    )
    .await;
    assert_eq!(
        Oci::new(&i.host, Some(expiring.clone()))
            .get("/v2/authz/tags/list")
            .await
            .status,
        200
    );
    emu.advance(std::time::Duration::from_secs(3 * 3600));
    assert_eq!(
        Oci::new(&i.host, Some(expiring))
            .get("/v2/authz/tags/list")
            .await
            .status,
        401,
        "expired"
    );
    emu.seed(|w, _, _| {
        for t in w
            .ionos
            .registries
            .get_mut("reg-id")
            .unwrap()
            .tokens
            .values_mut()
        {
            if t.name == "team-push" {
                t.enabled = false;
            }
        }
    });
    assert_eq!(
        team_oci.get("/v2/team/app/tags/list").await.status,
        401,
        "disabled"
    );

    // Buildkite: a registry token reads only its registry.
    emu.seed(|w, ids, now| {
        w.buildkite
            .add_registry("org", "other", "container", ids, now);
    });
    let b = &sites[2];
    let got = b.reader().get("/v2/org/other/x/tags/list").await;
    assert_eq!(got.status, 401, "another registry's token");
}

#[tokio::test]
async fn no_answer_repeats_a_credential() {
    let emu = emulator().await;
    for p in HOSTING {
        let s = site(&emu, p).await;
        let mut wrong = s.write.clone();
        wrong.password = format!("{}-not-it", s.write.password);
        let oci = Oci::new(&s.host, Some(wrong.clone()));
        for path in ["/v2/", &format!("/v2/{}/manifests/v1", s.name("x"))] {
            let got = oci.get(path).await;
            let text = format!("{:?} {}", got.headers, String::from_utf8_lossy(&got.body));
            assert!(
                !text.contains(&wrong.password) && !text.contains(&s.write.password),
                "{p}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn a_push_is_what_the_management_api_lists_with_exact_sizes() {
    let emu = emulator().await;
    // DigitalOcean: tags and manifests, sizes from the blobs.
    let s = site(&emu, Provider::DigitalOcean).await;
    let oci = s.writer();
    let image = Image::new("amd64", 2, 5000, None);
    oci.push_image("reg/web", "v1", &image).await;
    let bearer = api_bearer(&emu, Provider::DigitalOcean);
    let (status, tags) = raw(
        &emu,
        Provider::DigitalOcean,
        Method::GET,
        "/v2/registries/reg/repositories/web/tags",
        bearer.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(tags["tags"][0]["tag"], "v1");
    assert_eq!(tags["tags"][0]["manifest_digest"], json!(image.digest));
    assert_eq!(
        tags["tags"][0]["compressed_size_bytes"],
        json!(image.blob_bytes())
    );
    let (_, reg) = raw(
        &emu,
        Provider::DigitalOcean,
        Method::GET,
        "/v2/registries/reg",
        bearer.clone(),
        None,
    )
    .await;
    assert_eq!(
        reg["registry"]["storage_usage_bytes"],
        json!(image.blob_bytes())
    );
    // A tag deleted through the API is gone from the data plane.
    let (status, _) = raw(
        &emu,
        Provider::DigitalOcean,
        Method::DELETE,
        "/v2/registries/reg/repositories/web/tags/v1",
        bearer.clone(),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        oci.get("/v2/reg/web/manifests/v1").await.code().as_deref(),
        Some("MANIFEST_UNKNOWN")
    );

    // IONOS: repositories and artifacts.
    let i = site(&emu, Provider::Ionos).await;
    i.writer().push_image("web", "v1", &image).await;
    let (_, repos) = raw(
        &emu,
        Provider::Ionos,
        Method::GET,
        "/registries/reg-id/repositories",
        api_bearer(&emu, Provider::Ionos),
        None,
    )
    .await;
    assert_eq!(repos["items"][0]["properties"]["name"], "web", "{repos}");

    // Buildkite: each tag a package version.
    let b = site(&emu, Provider::Buildkite).await;
    b.writer().push_image("org/reg/web", "v1", &image).await;
    let (_, packages) = raw(
        &emu,
        Provider::Buildkite,
        Method::GET,
        "/v2/packages/organizations/org/registries/reg/packages",
        api_bearer(&emu, Provider::Buildkite),
        None,
    )
    .await;
    let items = packages["items"]
        .as_array()
        .or(packages.as_array())
        .cloned()
        .unwrap_or_default();
    let package = items
        .iter()
        .find(|p| p["name"] == "web")
        .expect("a package for the image");
    assert_eq!(package["version"], "v1");
    let id = package["id"].as_str().unwrap();
    let (status, _) = raw(
        &emu,
        Provider::Buildkite,
        Method::DELETE,
        &format!("/v2/packages/organizations/org/registries/reg/packages/{id}"),
        api_bearer(&emu, Provider::Buildkite),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        b.writer().get("/v2/org/reg/web/manifests/v1").await.status,
        404,
        "the package's tag went with it"
    );
}

/// Pushes a two-platform index tagged `multi` and a signature of it to DO.
async fn multi_arch(oci: &Oci) -> (Vec<Image>, Vec<u8>, Image) {
    let images = vec![
        Image::new("amd64", 1, 4000, None),
        Image::new("arm64", 1, 4000, None),
    ];
    for image in &images {
        for blob in image.blobs() {
            oci.push_blob("reg/multi", blob).await;
        }
        let put = oci
            .put_manifest("reg/multi", &image.digest, OCI_MANIFEST, &image.manifest)
            .await;
        assert_eq!(put.status, 201);
    }
    let idx = index(&images.iter().collect::<Vec<_>>());
    assert_eq!(
        oci.put_manifest("reg/multi", "multi", OCI_INDEX, &idx)
            .await
            .status,
        201
    );
    let sig = Image::new("none", 1, 100, Some((&sha256(&idx), idx.len())));
    for blob in sig.blobs() {
        oci.push_blob("reg/multi", blob).await;
    }
    assert_eq!(
        oci.put_manifest("reg/multi", &sig.digest, OCI_MANIFEST, &sig.manifest)
            .await
            .status,
        201
    );
    (images, idx, sig)
}

async fn collect(emu: &Emulator, kind: &str) -> Value {
    let bearer = api_bearer(emu, Provider::DigitalOcean);
    let (status, gc) = raw(
        emu,
        Provider::DigitalOcean,
        Method::POST,
        "/v2/registries/reg/garbage-collection",
        bearer.clone(),
        regkit_tests::emulator::json_body(&json!({"type": kind})),
    )
    .await;
    assert_eq!(status, 201, "{gc}");
    emu.advance(std::time::Duration::from_secs(3600));
    let (_, runs) = raw(
        emu,
        Provider::DigitalOcean,
        Method::GET,
        "/v2/registries/reg/garbage-collections",
        bearer,
        None,
    )
    .await;
    runs["garbage_collections"][0].clone()
}

#[tokio::test]
async fn index_children_and_referrers_are_untagged_in_the_listing_and_collection_is_an_option() {
    for (policy, children_survive) in [
        (UntaggedCollection::SpareReferenced, true),
        (UntaggedCollection::DeleteAll, false),
    ] {
        let emu = Emulator::builder()
            .clock(regkit_emulator::ClockMode::Frozen)
            .untagged_collection(policy)
            .start()
            .await
            .unwrap();
        let s = site(&emu, Provider::DigitalOcean).await;
        let oci = s.writer();
        let (images, _idx, sig) = multi_arch(&oci).await;
        let bearer = api_bearer(&emu, Provider::DigitalOcean);
        let (_, listing) = raw(
            &emu,
            Provider::DigitalOcean,
            Method::GET,
            "/v2/registries/reg/repositories/multi/digests",
            bearer.clone(),
            None,
        )
        .await;
        let untagged: Vec<&str> = listing["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["tags"].as_array().is_none_or(|t| t.is_empty()))
            .map(|m| m["digest"].as_str().unwrap())
            .collect();
        for child in images
            .iter()
            .map(|i| i.digest.as_str())
            .chain([sig.digest.as_str()])
        {
            assert!(
                untagged.contains(&child),
                "{child} is listed as untagged: the worst case"
            );
        }
        let (_, before) = raw(
            &emu,
            Provider::DigitalOcean,
            Method::GET,
            "/v2/registries/reg",
            bearer.clone(),
            None,
        )
        .await;
        let before = before["registry"]["storage_usage_bytes"].as_u64().unwrap();
        let run = collect(&emu, "untagged manifests and unreferenced blobs").await;
        assert_eq!(run["status"], "succeeded");
        let (_, after) = raw(
            &emu,
            Provider::DigitalOcean,
            Method::GET,
            "/v2/registries/reg",
            bearer.clone(),
            None,
        )
        .await;
        let after = after["registry"]["storage_usage_bytes"].as_u64().unwrap();
        assert_eq!(
            before - after,
            run["freed_bytes"].as_u64().unwrap(),
            "storage shrinks by exactly what was freed"
        );
        let child = oci
            .get(&format!("/v2/reg/multi/manifests/{}", images[0].digest))
            .await;
        let layer = oci
            .get(&format!(
                "/v2/reg/multi/blobs/{}",
                sha256(&images[0].layers[0])
            ))
            .await;
        if children_survive {
            assert_eq!(
                (child.status.as_u16(), layer.status.as_u16()),
                (200, 200),
                "{policy:?}"
            );
            assert_eq!(run["freed_bytes"], 0);
        } else {
            assert_eq!(
                child.code().as_deref(),
                Some("MANIFEST_UNKNOWN"),
                "{policy:?}"
            );
            assert_eq!(layer.code().as_deref(), Some("BLOB_UNKNOWN"));
            let freed: u64 = images.iter().map(Image::blob_bytes).sum::<u64>() + sig.blob_bytes();
            assert_eq!(
                run["freed_bytes"].as_u64().unwrap(),
                freed,
                "the children's and the signature's blobs"
            );
        }
        assert_eq!(
            oci.get("/v2/reg/multi/manifests/multi").await.status,
            200,
            "the tagged index stays"
        );
    }
}

#[tokio::test]
async fn collection_frees_exactly_the_unreferenced_blobs_and_their_bytes() {
    let emu = emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let oci = s.writer();
    let keep = Image::new("amd64", 1, 2000, None);
    let drop_ = Image::new("amd64", 2, 3000, None);
    oci.push_image("reg/app", "keep", &keep).await;
    oci.push_image("reg/app", "drop", &drop_).await;
    let bearer = api_bearer(&emu, Provider::DigitalOcean);
    raw(
        &emu,
        Provider::DigitalOcean,
        Method::DELETE,
        "/v2/registries/reg/repositories/app/tags/drop",
        bearer.clone(),
        None,
    )
    .await;
    let run = collect(&emu, "untagged manifests and unreferenced blobs").await;
    assert_eq!(run["freed_bytes"].as_u64().unwrap(), drop_.blob_bytes());
    assert_eq!(run["blobs_deleted"].as_u64().unwrap(), 3);
    assert_eq!(
        oci.get(&format!("/v2/reg/app/manifests/{}", drop_.digest))
            .await
            .code()
            .as_deref(),
        Some("MANIFEST_UNKNOWN")
    );
    for blob in drop_.blobs() {
        assert_eq!(
            oci.get(&format!("/v2/reg/app/blobs/{}", sha256(blob)))
                .await
                .code()
                .as_deref(),
            Some("BLOB_UNKNOWN")
        );
    }
    for blob in keep.blobs() {
        assert_eq!(
            &oci.get(&format!("/v2/reg/app/blobs/{}", sha256(blob)))
                .await
                .body,
            blob
        );
    }
    // The bytes are gone from the snapshot too.
    let snapshot = emu.snapshot();
    assert_eq!(snapshot.blobs.len(), keep.blobs().count());
}

#[tokio::test]
async fn faults_hit_data_plane_operations_by_name() {
    let emu = emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let oci = s.writer();
    let image = Image::new("amd64", 1, 10_000, None);
    oci.push_image("reg/f", "v1", &image).await;
    emu.inject(
        FaultRule::rate_limit(std::time::Duration::from_secs(7))
            .operation("oci_blob_upload_start")
            .times(1),
    );
    let limited = oci
        .send(Method::POST, "/v2/reg/f/blobs/uploads/", &[], vec![])
        .await;
    assert_eq!(
        (limited.status.as_u16(), limited.code().as_deref()),
        (429, Some("TOOMANYREQUESTS"))
    );
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert_eq!(
        oci.send(Method::POST, "/v2/reg/f/blobs/uploads/", &[], vec![])
            .await
            .status,
        202,
        "spent"
    );

    let layer = sha256(&image.layers[0]);
    let path = format!("/v2/reg/f/blobs/{layer}");
    // Once whole (the client keeps its token for the path), then cut.
    assert_eq!(oci.get(&path).await.body.len(), image.layers[0].len());
    emu.inject(FaultRule::truncate().operation("oci_blob_get").times(1));
    let cut = oci.get(&path).await;
    assert!(
        cut.body.len() < image.layers[0].len(),
        "a truncated blob arrives short"
    );
    assert_eq!(
        oci.get(&path).await.body,
        image.layers[0],
        "and whole again once spent"
    );
    emu.inject(FaultRule::reset().operation("oci_manifest_get").times(1));
    let reset = reqwest::Client::new()
        .get(format!("{}/v2/reg/f/manifests/v1", oci.base))
        .send()
        .await;
    assert!(reset.is_err(), "the connection closes");
    emu.inject(
        FaultRule::status(503)
            .operation("oci_manifest_put")
            .times(1),
    );
    assert_eq!(
        oci.put_manifest("reg/f", "v2", OCI_MANIFEST, &image.manifest)
            .await
            .status,
        503
    );
    assert_eq!(
        oci.put_manifest("reg/f", "v2", OCI_MANIFEST, &image.manifest)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn snapshots_and_the_data_directory_keep_pushed_content() {
    let emu = emulator().await;
    let s = site(&emu, Provider::DigitalOcean).await;
    let image = Image::new("amd64", 1, 5000, None);
    s.writer().push_image("reg/kept", "v1", &image).await;
    let snapshot = regkit_emulator::Snapshot::from_json(&emu.snapshot().to_json()).unwrap();
    assert_eq!(snapshot.blobs.len(), 2);

    let restored = Emulator::builder()
        .snapshot(snapshot.clone())
        .start()
        .await
        .unwrap();
    let s2 = Site {
        host: restored.registry_host(Provider::DigitalOcean).unwrap(),
        ..s
    };
    let token = restored
        .token(Provider::DigitalOcean)
        .expose_secret()
        .to_string();
    let oci = Oci::new(
        &s2.host,
        Some(regkit_tests::registry::Login {
            user: token.clone(),
            password: token,
        }),
    );
    assert_eq!(
        oci.get("/v2/reg/kept/manifests/v1").await.body,
        image.manifest
    );
    assert_eq!(
        oci.get(&format!("/v2/reg/kept/blobs/{}", sha256(&image.layers[0])))
            .await
            .body,
        image.layers[0]
    );

    // A blob that does not match its digest is refused.
    let mut bad = snapshot;
    let first = bad.blobs.keys().next().unwrap().clone();
    bad.blobs.insert(first, "AAAA".into());
    assert!(restored.restore(bad).is_err());

    // On disk: the blob is a file, and comes back after a restart.
    let dir = tempfile::tempdir().unwrap();
    let disk = Emulator::builder()
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let d = site(&disk, Provider::DigitalOcean).await;
    d.writer().push_image("reg/disk", "v1", &image).await;
    let layer = sha256(&image.layers[0]);
    let file = dir
        .path()
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    assert_eq!(std::fs::read(&file).unwrap(), image.layers[0]);
    let state = disk.snapshot();
    assert!(state.blobs.is_empty(), "the data directory holds them");
    drop(disk);
    let again = Emulator::builder()
        .data_dir(dir.path())
        .snapshot(state)
        .start()
        .await
        .unwrap();
    let token = again
        .token(Provider::DigitalOcean)
        .expose_secret()
        .to_string();
    let oci = Oci::new(
        &again.registry_host(Provider::DigitalOcean).unwrap(),
        Some(regkit_tests::registry::Login {
            user: token.clone(),
            password: token,
        }),
    );
    assert_eq!(
        oci.get(&format!("/v2/reg/disk/blobs/{layer}")).await.body,
        image.layers[0]
    );
}

#[tokio::test]
async fn seeded_content_answers_a_pull_with_a_clear_error() {
    let emu = Emulator::builder().demo(true).start().await.unwrap();
    let host = emu.registry_host(Provider::DigitalOcean).unwrap();
    let token = emu
        .token(Provider::DigitalOcean)
        .expose_secret()
        .to_string();
    let oci = Oci::new(
        &host,
        Some(regkit_tests::registry::Login {
            user: token.clone(),
            password: token,
        }),
    );
    let (registry, repo) = emu.seed(|w, _, _| {
        let (name, r) = w.digitalocean.registries.iter().next().unwrap();
        (
            name.clone(),
            r.store.repositories.keys().next().unwrap().clone(),
        )
    });
    let tags = oci.get(&format!("/v2/{registry}/{repo}/tags/list")).await;
    assert_eq!(tags.status, 200, "seeded tags list");
    let tag = tags.json()["tags"][0].as_str().unwrap().to_string();
    let got = oci
        .get(&format!("/v2/{registry}/{repo}/manifests/{tag}"))
        .await;
    assert_eq!(got.code().as_deref(), Some("MANIFEST_UNKNOWN"));
    assert!(
        got.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("seeded without content")
    );
}

#[tokio::test]
async fn a_chunk_cut_off_mid_push_leaves_the_upload_where_it_was() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let emu = emulator().await;
    let s = site(&emu, Provider::Buildkite).await;
    let oci = s.writer();
    let name = s.name("cut");
    let start = oci
        .send(
            Method::POST,
            &format!("/v2/{name}/blobs/uploads/"),
            &[],
            vec![],
        )
        .await;
    let at = start.header("location").unwrap().to_string();
    let first = oci.send(Method::PATCH, &at, &[], vec![7u8; 100]).await;
    assert_eq!(first.header("range"), Some("0-99"));
    // A client that promises 1000 bytes, sends 400 and goes away.
    let auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s.write.creds());
    let mut conn = tokio::net::TcpStream::connect(&s.host).await.unwrap();
    let head = format!(
        "PATCH {at} HTTP/1.1\r\nhost: {}\r\nauthorization: Basic {auth}\r\ncontent-length: 1000\r\n\r\n",
        s.host
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[8u8; 400]).await.unwrap();
    conn.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest).await;
    drop(conn);
    // The session still holds the first chunk alone, and goes on from it.
    let mut status = oci.get(&at).await;
    for _ in 0..50 {
        if status.header("range") == Some("0-99") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        status = oci.get(&at).await;
    }
    assert_eq!(
        status.header("range"),
        Some("0-99"),
        "the cut chunk was taken back"
    );
    let blob: Vec<u8> = [vec![7u8; 100], vec![9u8; 50]].concat();
    let done = oci
        .send(
            Method::PUT,
            &format!("{at}?digest={}", sha256(&blob)),
            &[],
            vec![9u8; 50],
        )
        .await;
    assert_eq!(done.status, 201, "{:?}", done.json());
    assert_eq!(
        oci.get(&format!("/v2/{name}/blobs/{}", sha256(&blob)))
            .await
            .body,
        blob
    );
}

/// Uploads racing collections (whose sweep forgets the bytes of every blob
/// no store holds): a blob the store lists always has its bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blobs_uploaded_while_collections_sweep_are_never_listed_without_bytes() {
    let emu = std::sync::Arc::new(emulator().await);
    let s = std::sync::Arc::new(site(&emu, Provider::DigitalOcean).await);
    let uploaders: Vec<_> = (0..4u8)
        .map(|n| {
            let s = s.clone();
            tokio::spawn(async move {
                let oci = s.writer();
                for i in 0..25u8 {
                    // The collector's clock jumps expire bearer tokens mid-push:
                    // such a push is refused whole and tried again.
                    let mut tries = 0;
                    while let Err(refused) = oci.try_push_blob("reg/race", &[n, i, 42]).await {
                        assert_eq!(refused.status, 401, "{:?}", refused.json());
                        tries += 1;
                        assert!(tries < 20, "never got through");
                    }
                }
            })
        })
        .collect();
    let collector = {
        let emu = emu.clone();
        tokio::spawn(async move {
            for _ in 0..25 {
                let bearer = api_bearer(&emu, Provider::DigitalOcean);
                let body =
                    regkit_tests::emulator::json_body(&json!({"type": "unreferenced blobs only"}));
                raw(
                    &emu,
                    Provider::DigitalOcean,
                    Method::POST,
                    "/v2/registries/reg/garbage-collection",
                    bearer.clone(),
                    body,
                )
                .await;
                emu.advance(std::time::Duration::from_secs(3600));
                // Settles the run: its collection and the sweep happen here.
                raw(
                    &emu,
                    Provider::DigitalOcean,
                    Method::GET,
                    "/v2/registries/reg",
                    bearer,
                    None,
                )
                .await;
            }
        })
    };
    for task in uploaders {
        task.await.unwrap();
    }
    collector.await.unwrap();
    let listed: Vec<String> = emu.seed(|w, _, _| {
        w.digitalocean.registries["reg"]
            .store
            .blobs
            .keys()
            .cloned()
            .collect()
    });
    let oci = s.writer();
    for digest in listed {
        let got = oci.get(&format!("/v2/reg/race/blobs/{digest}")).await;
        assert_eq!(got.status, 200, "{digest} is listed but {:?}", got.json());
    }
}
