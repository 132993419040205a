//! A loopback HTTP server the benchmarks start themselves (axum on its own
//! runtime thread), so client and server are measured in one run.

use std::net::SocketAddr;

/// Starts `router` on 127.0.0.1 with a free port on a dedicated
/// single-threaded runtime and returns `http://127.0.0.1:<port>`.
pub fn serve(router: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("report address");
            axum::serve(listener, router).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("server started");
    format!("http://{addr}")
}
