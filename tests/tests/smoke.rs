use httpmock::prelude::*;
use regkit_digitalocean::Client;

#[tokio::test]
async fn tags_smoke() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v2/registry/reg/repositories/my%2Frepo/tags")
                .query_param("per_page", "5")
                .header("authorization", "Bearer tok");
            then.status(200).json_body(serde_json::json!({
                "tags": [{"registry_name": "reg", "repository": "my/repo", "tag": "latest", "size_bytes": 3000000000i64}],
                "meta": {"total": 1}
            }));
        })
        .await;
    let client = Client::builder().base_url(server.base_url()).bearer_token("tok").build().unwrap();
    let r = client
        .registry_list_repository_tags()
        .registry_name("reg")
        .repository_name("my/repo")
        .per_page(std::num::NonZeroU64::new(5).unwrap())
        .send()
        .await;
    println!("{r:?}");
    m.assert_async().await;
}
