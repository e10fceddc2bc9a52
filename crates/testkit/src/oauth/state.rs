//! The authorization server's memory: clients, codes and tokens, and the controls' switches.
//!
//! Everything here is synchronous and held under one mutex, never across an `.await`. `Debug`
//! prints counts, never a token, code or secret.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::error::OAuthError;
use super::{AuthMethod, AuthorizeRequest, Counters, FixtureOptions, TokenRequest};

/// A client: pre-registered, registered at `/register`, or a client id metadata document URL.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) secret: Option<String>,
    pub(crate) method: AuthMethod,
    /// The registered redirect URIs; `None`: any loopback URI (RFC 8252 §7.3).
    pub(crate) redirect_uris: Option<Vec<String>>,
    /// The public key of a `private_key_jwt` client (an uncompressed P-256 point).
    pub(crate) public_key: Option<Vec<u8>>,
}

/// An unused authorization code.
pub(crate) struct Code {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) resource: String,
}

/// An access token.
struct Access {
    audience: String,
    scopes: BTreeSet<String>,
    expired: bool,
}

/// A refresh token, good for one refresh.
pub(crate) struct Refresh {
    pub(crate) client_id: String,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) resource: String,
}

/// What the bearer check makes of a token.
pub(crate) enum Verdict {
    /// Good for this resource, with these scopes.
    Valid(BTreeSet<String>),
    /// Never issued, or revoked.
    Unknown,
    /// Expired by [`State::expire_access_tokens`].
    Expired,
    /// Issued for another resource.
    WrongAudience,
}

/// Tokens issued by one grant.
pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) expires_in: u64,
}

pub(crate) struct State {
    pub(crate) auth_methods: Vec<AuthMethod>,
    pub(crate) client_id_metadata_documents: bool,
    pub(crate) scopes_supported: Vec<String>,
    default_scopes: BTreeSet<String>,
    expires_in: u64,
    refresh_tokens: bool,
    pub(crate) challenge_scope: Option<String>,
    pub(crate) required_scopes: BTreeMap<String, Vec<String>>,
    pub(crate) audience_override: Option<String>,
    pub(crate) refresh_denied: bool,
    clients: HashMap<String, Client>,
    pub(crate) codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    pub(crate) refresh: HashMap<String, Refresh>,
    pub(crate) counters: Counters,
    pub(crate) authorize_log: Vec<AuthorizeRequest>,
    pub(crate) token_log: Vec<TokenRequest>,
    /// The identity provider of cross-app access, if on.
    pub(crate) idp: Option<super::idp::Idp>,
    /// Every request to the identity provider's token endpoint.
    pub(crate) idp_log: Vec<TokenRequest>,
    /// The `jti` of every client assertion accepted (each works once).
    pub(crate) assertion_ids: std::collections::HashSet<String>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("clients", &self.clients.len())
            .field("codes", &self.codes.len())
            .field("access_tokens", &self.access.len())
            .field("refresh_tokens", &self.refresh.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(options: &FixtureOptions) -> State {
        let clients = options
            .clients
            .iter()
            .map(|client| {
                let registered = Client {
                    secret: client.secret.clone(),
                    method: client.method,
                    redirect_uris: None,
                    public_key: client.public_key.clone(),
                };
                (client.id.clone(), registered)
            })
            .collect();
        State {
            auth_methods: options.auth_methods.clone(),
            client_id_metadata_documents: options.client_id_metadata_documents,
            scopes_supported: options.scopes_supported.clone(),
            default_scopes: options.default_scopes.iter().cloned().collect(),
            expires_in: options.expires_in,
            refresh_tokens: options.refresh_tokens,
            challenge_scope: options.challenge_scope.clone(),
            required_scopes: options.required_scopes.clone(),
            audience_override: None,
            refresh_denied: false,
            clients,
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            counters: Counters::default(),
            authorize_log: Vec::new(),
            token_log: Vec::new(),
            assertion_ids: std::collections::HashSet::new(),
            idp: options
                .identity_provider
                .as_ref()
                .map(|(idp_client, as_client)| super::idp::Idp::new(idp_client, as_client)),
            idp_log: Vec::new(),
        }
    }

    /// The client called `id`: a known one, or (when client id metadata documents are on) an
    /// `https://` URL taken as a public client with loopback redirects.
    pub(crate) fn client(&self, id: &str) -> Option<Client> {
        if let Some(client) = self.clients.get(id) {
            return Some(client.clone());
        }
        let document = self.client_id_metadata_documents
            && url::Url::parse(id).is_ok_and(|url| url.scheme() == "https");
        document.then_some(Client {
            secret: None,
            method: AuthMethod::None,
            redirect_uris: None,
            public_key: None,
        })
    }

    /// Registers a client, returning its id.
    pub(crate) fn add_client(&mut self, client: Client) -> String {
        let id = random("client");
        self.clients.insert(id.clone(), client);
        id
    }

    /// The scopes `requested` (space-separated) names, or the default ones when it is absent.
    ///
    /// # Errors
    /// `invalid_scope` naming the first scope the server does not know.
    pub(crate) fn scopes(&self, requested: Option<&str>) -> Result<BTreeSet<String>, OAuthError> {
        let Some(requested) = requested else { return Ok(self.default_scopes.clone()) };
        let scopes: BTreeSet<String> = requested.split_whitespace().map(str::to_owned).collect();
        match scopes.iter().find(|scope| !self.scopes_supported.contains(scope)) {
            Some(unknown) => Err(OAuthError::invalid_scope(format!(
                "unknown scope {unknown:?}; this server knows {:?}",
                self.scopes_supported
            ))),
            None => Ok(scopes),
        }
    }

    /// Issues an access token for `resource` (or the rotated audience) with `scopes`, and a
    /// refresh token when `with_refresh` and refresh tokens are on.
    pub(crate) fn issue(
        &mut self,
        client_id: &str,
        scopes: BTreeSet<String>,
        resource: &str,
        refresh_scopes: Option<BTreeSet<String>>,
    ) -> Issued {
        let audience = self.audience_override.clone().unwrap_or_else(|| resource.to_owned());
        let access_token = random("at");
        self.access.insert(
            access_token.clone(),
            Access { audience, scopes: scopes.clone(), expired: false },
        );
        let refresh_token = refresh_scopes.filter(|_| self.refresh_tokens).map(|granted| {
            let token = random("rt");
            let refresh = Refresh {
                client_id: client_id.to_owned(),
                scopes: granted,
                resource: resource.to_owned(),
            };
            self.refresh.insert(token.clone(), refresh);
            token
        });
        Issued { access_token, refresh_token, scopes, expires_in: self.expires_in }
    }

    /// What `token` is worth at `resource`.
    pub(crate) fn verdict(&self, token: &str, resource: &str) -> Verdict {
        match self.access.get(token) {
            None => Verdict::Unknown,
            Some(access) if access.expired => Verdict::Expired,
            Some(access) if !same_resource(&access.audience, resource) => Verdict::WrongAudience,
            Some(access) => Verdict::Valid(access.scopes.clone()),
        }
    }

    pub(crate) fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.codes.clear();
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        for access in self.access.values_mut() {
            access.expired = true;
        }
    }
}

/// Whether two resource identifiers name the same resource (a trailing `/` aside).
pub(crate) fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A fresh random opaque string such as `at_3f…`: two v4 UUIDs, 244 random bits.
pub(crate) fn random(prefix: &str) -> String {
    let (a, b) = (uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    format!("{prefix}_{a}{b}")
}
