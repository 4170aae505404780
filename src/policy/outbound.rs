//! Where the worker may send requests (webhook deliveries). A locked deployment is on the
//! internet: its webhooks must be `https://` URLs of public hosts, so the mock cannot be
//! used to reach loopback, private, link-local, unique-local or cloud metadata addresses.
//! A URL is judged as the runtime will read it: parsed by the WHATWG rules (the `url`
//! crate: backslashes, percent-encoded and full-width digits, IPv4 in any notation,
//! IPv4-mapped IPv6), and what is sent is that parsed URL's serialisation, never the raw
//! text; deliveries do not follow redirects. Names are judged by what they obviously are
//! (`localhost`, `*.internal`, single labels); a name that resolves to a private address is
//! not caught here, and Cloudflare's network does not route Workers' requests to private
//! networks. An optional allow-list (`WEBHOOK_ALLOWED_HOSTS`) narrows it further, in both
//! modes.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::Url;

use super::deployment::WebhookPolicy;

/// Checks a webhook URL against the deployment's policy and answers the URL to send to
/// (the parsed URL's serialisation); the message says why not.
pub fn check_webhook_url(raw: &str, policy: &WebhookPolicy) -> Result<String, String> {
    let refuse = |why: &str| Err(format!("webhook URL '{raw}' is refused: {why}"));
    let Ok(url) = Url::parse(raw) else {
        return refuse("it is not a URL");
    };
    let scheme = url.scheme();
    if policy.public_https_only && scheme != "https" {
        return refuse("this deployment only calls https:// URLs");
    }
    if scheme != "https" && scheme != "http" {
        return refuse("it must be an http:// or https:// URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("URLs with user information are not accepted");
    }
    let judged = match url.host() {
        None => return refuse("it has no host"),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), classify_v4(ip)),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), classify_v6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let class = classify_name(&name);
            (name, class)
        }
    };
    let (host, class) = judged;
    if !policy.allowed_hosts.is_empty()
        && !policy
            .allowed_hosts
            .iter()
            .any(|allowed| host == *allowed || host.ends_with(&format!(".{allowed}")))
    {
        return refuse("its host is not in WEBHOOK_ALLOWED_HOSTS");
    }
    match class {
        Host::Private(what) if policy.public_https_only => refuse(&format!(
            "{what} addresses are not reachable from this deployment"
        )),
        _ => Ok(url.to_string()),
    }
}

enum Host {
    Public,
    Private(&'static str),
}

fn classify_name(name: &str) -> Host {
    let internal_suffixes = [
        ".localhost",
        ".local",
        ".internal",
        ".intranet",
        ".lan",
        ".home.arpa",
    ];
    if name == "localhost" || internal_suffixes.iter().any(|s| name.ends_with(s)) {
        return Host::Private("local and internal");
    }
    if !name.contains('.') {
        return Host::Private("single-label (intranet)");
    }
    Host::Public
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
    let v4 = |high: u16, low: u16| {
        Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)
    };
    // NAT64's well-known prefix carries an IPv4 address in its last 32 bits, 6to4 in bits
    // 16-47: they reach what that address reaches.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return classify_v4(v4(s[1], s[2]));
    }
    let what = match s[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        // NAT64 local-use (64:ff9b:1::/48) translates to whatever the local network reaches.
        0x64 if s[1] == 0xff9b && s[2] == 1 => "NAT64 local-use",
        // Teredo (2001::/32) hides its client's IPv4 address; documentation (2001:db8::/32).
        0x2001 if s[1] == 0 => "Teredo tunnel",
        0x2001 if s[1] == 0xdb8 => "documentation",
        // The discard-only prefix 100::/64.
        0x100 if s[1..4] == [0, 0, 0] => "discard-only",
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
            "https://[64:ff9b:1::a00:1]/",
            "https://[2002:7f00:1::1]/",
            "https://[2002:a9fe:a9fe::]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[2001:db8::1]/",
            "https://[100::1]/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://app.localhost/",
            "https://metadata.google.internal/",
            "https://intranet/",
            "https://user@hooks.example.com/",
            "https://256.1.1.1/",
            "ftp://hooks.example.com/",
            "https://127.0.0.1\\.example.com/",
            "https://169.254.169.%32%35%34/",
            "https://127.0.0.%31/",
            "https://127.0.0.\u{ff11}/",
            "https://metadata.google.internal%2e/",
            "https://[::ffff:7f00:1]/",
            "https://0/",
        ] {
            assert!(check_webhook_url(url, &locked).is_err(), "{url}");
        }
        for url in [
            "https://hooks.example.com/marketplace?x=1",
            "https://hooks.example.com:8443/x",
            "https://8.8.8.8/",
            "https://[2606:4700::1111]/",
            "https://[2002:808:808::1]/",
            "https://[64:ff9b::808:808]/",
        ] {
            assert!(check_webhook_url(url, &locked).is_ok(), "{url}");
        }
    }

    #[test]
    fn open_deployments_allow_any_http_url_and_the_allow_list_narrows_both() {
        let open = policy(false, &[]);
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", &open).is_ok());
        assert!(check_webhook_url("ftp://x/", &open).is_err());
        let listed = policy(true, &["example.com"]);
        assert!(check_webhook_url("https://hooks.example.com/", &listed).is_ok());
        assert!(check_webhook_url("https://example.com/", &listed).is_ok());
        assert!(check_webhook_url("https://example.org/", &listed).is_err());
        assert!(check_webhook_url("https://badexample.com/", &listed).is_err());
        assert!(check_webhook_url("https://evil.com\\.example.com/", &listed).is_err());
        let open_listed = policy(false, &["127.0.0.1"]);
        assert!(check_webhook_url("http://10.0.0.1/", &open_listed).is_err());
    }

    #[test]
    fn what_is_sent_is_the_parsed_url() {
        let open = policy(false, &[]);
        assert_eq!(
            check_webhook_url("HTTP://Hooks.Example.COM:80/a b?x=1", &open).unwrap(),
            "http://hooks.example.com/a%20b?x=1"
        );
    }
}
