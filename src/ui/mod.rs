//! The dashboard's files (`ui/`, bundled by `scripts/ui.sh` into `assets/`), embedded in the
//! worker and served at `/_mock/ui/` of every namespace. They hold no data: the page reads
//! the namespace through its control API, so the same files serve every namespace and a
//! locked deployment serves them without a token. A strict Content-Security-Policy lets the
//! page load only its own script and styles and talk only to its own origin.

use crate::protocol::http::HttpResponse;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLES: &str = include_str!("assets/app.css");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The answer for `path` (the request's whole path, `…/_mock/ui` or `…/_mock/ui/<file>`).
pub fn serve(path: &str) -> HttpResponse {
    let Some((_, rest)) = path.rsplit_once("/_mock/ui") else {
        return not_found();
    };
    let (content_type, body) = match rest {
        // The page's files are named relative to it, so it must be read as a directory.
        "" => {
            return HttpResponse::new(308, "text/plain", "")
                .with_header("Location", &format!("{path}/"))
        }
        "/" | "/index.html" => ("text/html; charset=utf-8", INDEX),
        "/app.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/app.css" => ("text/css; charset=utf-8", STYLES),
        _ => return not_found(),
    };
    HttpResponse::new(200, content_type, body.as_bytes().to_vec())
        .with_header("Content-Security-Policy", CSP)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("Cache-Control", "no-cache")
}

fn not_found() -> HttpResponse {
    HttpResponse::new(404, "text/plain", "no such file of the dashboard")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_are_served_with_a_strict_policy() {
        for (path, kind) in [
            ("/_mock/ui/", "text/html"),
            ("/ns/team-a/_mock/ui/", "text/html"),
            ("/ns/team-a/_mock/ui/app.js", "text/javascript"),
            ("/_mock/ui/app.css", "text/css"),
        ] {
            let r = serve(path);
            assert_eq!(r.status, 200, "{path}");
            assert!(r
                .header("content-type")
                .unwrap_or_default()
                .starts_with(kind));
            assert!(r.header("content-security-policy").is_some_and(|p| p
                .contains("script-src 'self'")
                && p.contains("frame-ancestors 'none'")));
            assert!(!r.body.is_empty());
        }
    }

    #[test]
    fn the_page_is_a_directory_and_nothing_else_is_served() {
        let r = serve("/ns/x/_mock/ui");
        assert_eq!(r.status, 308);
        assert_eq!(r.header("location"), Some("/ns/x/_mock/ui/"));
        for path in [
            "/_mock/ui/../../secret",
            "/_mock/ui/app.js.map",
            "/_mock/ui/x/app.js",
        ] {
            assert_eq!(serve(path).status, 404, "{path}");
        }
    }
}
