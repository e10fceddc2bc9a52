//! [`AddressPolicy`]: which URLs the OAuth flow may contact, for URLs it learns from servers
//! (the protected resource metadata's `authorization_servers`, the authorization server's
//! metadata and endpoints, registration, the redirects of any of them).
//!
//! - Only `http` and `https` URLs are contacted.
//! - Unless the MCP server's own URL is on a loopback, private or link-local address (then it
//!   and its authorization server are local, as in tests or an intranet), no URL on such an
//!   address is: a server on a public address could otherwise send the client to
//!   `http://169.254.169.254/…` or an internal service (SSRF). A host name counts as local
//!   when it is `localhost` (or under `.localhost`) or resolves to a local address.
//! - The MCP server's own origin is always allowed: it is configured, not learned.
//!
//! Addresses are checked by resolving the host before the request; the connection resolves it
//! again, so a name whose answer changes in between (DNS rebinding) is not caught.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use url::{Host, Url};

/// How long resolving a host for the check may take.
const RESOLVE_DEADLINE: Duration = Duration::from_secs(5);

/// Why a URL was refused (no secret: a redacted URL and the rule).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("refused to contact {url}: {reason}")]
pub(crate) struct Refused {
    pub(crate) url: String,
    pub(crate) reason: String,
}

/// The policy of one authorizer: see the [module docs](self).
#[derive(Debug)]
pub(crate) struct AddressPolicy {
    resource: Url,
    allow_local: tokio::sync::OnceCell<bool>,
    refused: Mutex<Option<Refused>>,
}

impl AddressPolicy {
    /// The policy for the MCP server at `resource`.
    pub(crate) fn new(resource: &Url) -> AddressPolicy {
        AddressPolicy {
            resource: resource.clone(),
            allow_local: tokio::sync::OnceCell::new(),
            refused: Mutex::new(None),
        }
    }

    /// A policy that refuses local addresses whatever the resource's address (tests).
    #[cfg(test)]
    pub(crate) fn strict(resource: &Url) -> AddressPolicy {
        let policy = AddressPolicy::new(resource);
        let _ = policy.allow_local.set(false);
        policy
    }

    /// Whether local addresses are allowed: the MCP server's own host is local.
    async fn allow_local(&self) -> bool {
        *self
            .allow_local
            .get_or_init(|| async { is_local(&self.resource).await == Some(true) })
            .await
    }

    /// Checks `url`; a refusal is also kept for [`take_refusal`](Self::take_refusal) (rmcp
    /// turns the error of a refused request into text).
    pub(crate) async fn check(&self, url: &Url) -> Result<(), Refused> {
        let refuse = |reason: String| {
            let refused = Refused { url: mcp_config::redact::redact_url(url).to_string(), reason };
            *self.refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(refused.clone());
            Err(refused)
        };
        if !matches!(url.scheme(), "http" | "https") {
            return refuse(format!("its scheme `{}` is not http or https", url.scheme()));
        }
        if url.origin() == self.resource.origin() || self.allow_local().await {
            return Ok(());
        }
        if is_local(url).await == Some(true) {
            return refuse(
                "it is on a loopback, private or link-local address, and the MCP server is not"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The last refusal, if any, forgotten once taken.
    pub(crate) fn take_refusal(&self) -> Option<Refused> {
        self.refused.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Whether `url`'s host is local: `Some(true)` for a local address (or `localhost`), `Some(false)`
/// for a public one, `None` when the name does not resolve (in time).
async fn is_local(url: &Url) -> Option<bool> {
    match url.host()? {
        Host::Ipv4(ip) => Some(local_ip(IpAddr::V4(ip))),
        Host::Ipv6(ip) => Some(local_ip(IpAddr::V6(ip))),
        Host::Domain(name) => {
            let lower = name.to_ascii_lowercase();
            if lower == "localhost" || lower.ends_with(".localhost") {
                return Some(true);
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let addresses =
                tokio::time::timeout(RESOLVE_DEADLINE, tokio::net::lookup_host((name, port)))
                    .await
                    .ok()?
                    .ok()?;
            let mut any = false;
            for address in addresses {
                if local_ip(address.ip()) {
                    return Some(true);
                }
                any = true;
            }
            any.then_some(false)
        }
    }
}

/// Loopback, private (RFC 1918, RFC 4193), link-local, shared (RFC 6598), unspecified or
/// broadcast; an IPv4-mapped IPv6 address as its IPv4 one.
fn local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => local_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => local_v4(v4),
            None => local_v6(ip),
        },
    }
}

fn local_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || (a == 100 && (64..128).contains(&b))
}

fn local_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(local_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!local_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_public_resource_may_not_send_the_client_to_a_local_address() {
        let url = |text: &str| Url::parse(text).unwrap();
        // 203.0.113.0/24 is a documentation range: public as far as the rule goes.
        let public = AddressPolicy::new(&url("https://203.0.113.7/mcp"));
        assert!(public.check(&url("https://203.0.113.7/.well-known/x")).await.is_ok());
        assert!(public.check(&url("https://198.51.100.1/token")).await.is_ok());
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:8080/token",
            "http://[::1]/register",
            "http://localhost:9000/authorize",
            "http://10.0.0.5/.well-known/oauth-authorization-server",
        ] {
            let refused = public.check(&url(bad)).await.unwrap_err();
            assert!(refused.reason.contains("loopback, private or link-local"), "{bad}");
            assert_eq!(public.take_refusal(), Some(refused));
        }
        assert_eq!(public.take_refusal(), None, "taken once");
        // A local resource may use local servers, but never a scheme other than http(s).
        let local = AddressPolicy::new(&url("http://127.0.0.1:3000/mcp"));
        assert!(local.check(&url("http://10.0.0.5/token")).await.is_ok());
        assert!(local.check(&url("http://localhost:4000/token")).await.is_ok());
        let refused = local.check(&url("file:///etc/passwd")).await.unwrap_err();
        assert_eq!(refused.reason, "its scheme `file` is not http or https");
    }
}
