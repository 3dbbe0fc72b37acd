//! Shared pieces of the fuzz targets: the form parser and a small in-memory tenant with a few
//! applications, built once per process.

use std::collections::HashMap;
use std::sync::LazyLock;

use tessera_core::{
    FixedClock, admin,
    keys::MasterKey,
    memory::MemoryStore,
    model::{Client, Tenant},
};

/// The issuer of the fuzzing tenant.
pub const ISSUER: &str = "https://id.example.com";
/// A callback registered on every application.
pub const CB: &str = "https://app.example.com/callback";

/// The form parser `/authorize`, `/u/login` and `/userinfo` use.
pub use tessera_core::authorize::form_params;

/// One tenant with a registered API and three applications.
pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub store: MemoryStore,
    pub tenant: Tenant,
    /// Short names the fuzzer can type (`spa`, `web`, `native`) and the clients they stand for.
    pub clients: Vec<(&'static str, Client)>,
}

impl World {
    /// Replaces a short client name in `client_id` with the real, random client id.
    pub fn resolve_client_id(&self, params: &mut HashMap<String, String>) {
        if let Some(id) = params.get_mut("client_id")
            && let Some((_, c)) = self.clients.iter().find(|(n, _)| *n == id.as_str())
        {
            *id = c.client_id.clone();
        }
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .iter()
            .map(|(_, c)| c)
            .find(|c| c.client_id == client_id)
    }
}

pub static WORLD: LazyLock<World> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let store = MemoryStore::new();
    let master = MasterKey::generate();
    let clock = FixedClock::new(1_800_000_000);
    let (tenant, clients) = rt.block_on(async {
        let tenant =
            admin::ensure_tenant(&store, &master, &clock, "default", Some(ISSUER), "x", false)
                .await
                .expect("tenant");
        let app = |name: &str, t: &str, callbacks: &[&str]| admin::AppSpec {
            name: Some(name.into()),
            app_type: Some(t.into()),
            callbacks: Some(callbacks.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        let mut spa = app(
            "spa",
            "spa",
            &[
                CB,
                "https://app.example.com/other?x=1",
                "http://localhost:3000/cb",
            ],
        );
        spa.web_origins = Some(vec!["https://app.example.com".into()]);
        spa.grant_types = Some(vec![
            "authorization_code".into(),
            "implicit".into(),
            "refresh_token".into(),
        ]);
        let mut web = app("web", "regular", &[CB]);
        web.allow_pkce_plain = Some(true);
        let native = app(
            "native",
            "native",
            &[
                "http://127.0.0.1/cb",
                "http://[::1]:8080/cb",
                "com.example.app:/cb",
            ],
        );
        let mut clients = Vec::new();
        for (short, spec) in [("spa", spa), ("web", web), ("native", native)] {
            let (c, _) = admin::create_app(&store, &clock, "default", &spec)
                .await
                .expect("app");
            clients.push((short, c));
        }
        let api = admin::ApiSpec {
            name: Some("API".into()),
            identifier: Some("https://api.example.com".into()),
            ..Default::default()
        };
        admin::create_api(&store, &master, &clock, "default", &api)
            .await
            .expect("api");
        (tenant, clients)
    });
    World {
        rt,
        store,
        tenant,
        clients,
    }
});

/// Splits `data` at the first `sep`: (before, Some(after)) or (data, None).
pub fn split_once(data: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|b| *b == sep) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}
