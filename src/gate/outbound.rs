//! Where the worker may send requests (webhook deliveries). A locked deployment is on the
//! internet: its webhooks must be `https://` URLs of public hosts, so the mock cannot be
//! used to reach loopback, private, link-local, unique-local or cloud metadata addresses.
//! Hosts are judged as written: IP literals in any form a URL parser accepts (`2130706433`,
//! `0x7f.1`, `[::ffff:127.0.0.1]`) by their address, names by what they obviously are
//! (`localhost`, `*.internal`, single labels). A name that resolves to a private address is
//! not caught here; Cloudflare's network does not route Workers' requests to private
//! networks. An optional allow-list (`WEBHOOK_ALLOWED_HOSTS`) narrows it further, in both
//! modes.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::deployment::WebhookPolicy;

/// Checks a webhook URL against the deployment's policy; the message says why not.
pub fn check_webhook_url(url: &str, policy: &WebhookPolicy) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("webhook URL '{url}' is refused: {why}"));
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    if policy.public_https_only && scheme != "https" {
        return refuse("this deployment only calls https:// URLs");
    }
    if scheme != "https" && scheme != "http" {
        return refuse("it must be an http:// or https:// URL");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return refuse("URLs with user information are not accepted");
    }
    let host = host_of(authority).to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return refuse("it has no host");
    }
    if !policy.allowed_hosts.is_empty()
        && !policy
            .allowed_hosts
            .iter()
            .any(|allowed| host == allowed || host.ends_with(&format!(".{allowed}")))
    {
        return refuse("its host is not in WEBHOOK_ALLOWED_HOSTS");
    }
    if !policy.public_https_only {
        return Ok(());
    }
    match classify(host) {
        Host::Public => Ok(()),
        Host::Private(what) => refuse(&format!(
            "{what} addresses are not reachable from this deployment"
        )),
    }
}

enum Host {
    Public,
    Private(&'static str),
}

/// The host of an authority (`host`, `host:port`, `[v6]:port`), without brackets or port.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn classify(host: &str) -> Host {
    if host.contains(':') {
        return match host.parse::<Ipv6Addr>() {
            Ok(ip) => classify_v6(ip),
            Err(_) => Host::Private("malformed IPv6"),
        };
    }
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        // A URL parser reads a host ending in a number as an IPv4 address.
        return match parse_ipv4(host) {
            Some(ip) => classify_v4(ip),
            None => Host::Private("malformed IPv4"),
        };
    }
    let internal_suffixes = [
        ".localhost",
        ".local",
        ".internal",
        ".intranet",
        ".lan",
        ".home.arpa",
    ];
    if host == "localhost" || internal_suffixes.iter().any(|s| host.ends_with(s)) {
        return Host::Private("local and internal");
    }
    if !host.contains('.') {
        return Host::Private("single-label (intranet)");
    }
    Host::Public
}

/// IPv4 as WHATWG URL parsing reads it: 1-4 parts, each decimal, `0x` hex or `0` octal,
/// the last filling the remaining bytes.
fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| {
            let p = p.to_ascii_lowercase();
            if let Some(hex) = p.strip_prefix("0x") {
                if hex.is_empty() {
                    Some(0)
                } else {
                    u64::from_str_radix(hex, 16).ok()
                }
            } else if p.len() > 1 && p.starts_with('0') {
                u64::from_str_radix(&p[1..], 8).ok()
            } else {
                p.parse::<u64>().ok()
            }
        })
        .collect::<Option<_>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let mut value = *last;
    for (i, n) in init.iter().enumerate() {
        value += n << (8 * (3 - i));
    }
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

fn classify_v4(ip: Ipv4Addr) -> Host {
    let [a, b, c, _] = ip.octets();
    let what = match (a, b, c) {
        (0, _, _) => "'this network'",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local and metadata",
        (192, 0, 0) | (198, 18..=19, _) => "special-purpose",
        (224..=255, _, _) => "multicast and reserved",
        _ => return Host::Public,
    };
    Host::Private(what)
}

fn classify_v6(ip: Ipv6Addr) -> Host {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    let what = match s[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        x if x & 0xfe00 == 0xfc00 => "unique-local (and metadata)",
        x if x & 0xffc0 == 0xfe80 || x & 0xffc0 == 0xfec0 => "link-local",
        x if x & 0xff00 == 0xff00 => "multicast",
        0 => "IPv4-compatible and reserved",
        _ => return Host::Public,
    };
    Host::Private(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(locked: bool, allowed: &[&str]) -> WebhookPolicy {
        WebhookPolicy {
            public_https_only: locked,
            allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            max_attempts: 10,
            max_retry_delay_seconds: 3600,
            max_deliveries_per_hour: 1000,
        }
    }

    #[test]
    fn locked_deployments_refuse_private_and_plain_http_targets() {
        let locked = policy(true, &[]);
        for url in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://127.1:8443/x",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "https://017700000001/",
            "https://10.0.0.1/",
            "https://172.20.1.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.100.100.200/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://app.localhost/",
            "https://metadata.google.internal/",
            "https://intranet/",
            "https://user@hooks.example.com/",
            "https://256.1.1.1/",
            "ftp://hooks.example.com/",
        ] {
            assert!(check_webhook_url(url, &locked).is_err(), "{url}");
        }
        for url in [
            "https://hooks.example.com/marketplace?x=1",
            "https://hooks.example.com:8443/x",
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
        ] {
            assert_eq!(check_webhook_url(url, &locked), Ok(()), "{url}");
        }
    }

    #[test]
    fn open_deployments_allow_any_http_url_and_the_allow_list_narrows_both() {
        let open = policy(false, &[]);
        assert_eq!(
            check_webhook_url("http://127.0.0.1:9000/hook", &open),
            Ok(())
        );
        assert!(check_webhook_url("ftp://x/", &open).is_err());
        let listed = policy(true, &["example.com"]);
        assert_eq!(
            check_webhook_url("https://hooks.example.com/", &listed),
            Ok(())
        );
        assert_eq!(check_webhook_url("https://example.com/", &listed), Ok(()));
        assert!(check_webhook_url("https://example.org/", &listed).is_err());
        assert!(check_webhook_url("https://badexample.com/", &listed).is_err());
        let open_listed = policy(false, &["127.0.0.1"]);
        assert!(check_webhook_url("http://10.0.0.1/", &open_listed).is_err());
    }

    #[test]
    fn ipv4_literals_are_read_as_url_parsers_read_them() {
        assert_eq!(parse_ipv4("127.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(parse_ipv4("0x7f000001"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(parse_ipv4("0177.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(parse_ipv4("1.2.3.4.5"), None);
        assert_eq!(parse_ipv4("1.2.65536"), None);
    }
}
