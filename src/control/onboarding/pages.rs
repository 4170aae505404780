//! The HTML pages of the simulated sign-up, escaped, and served so no other site can frame
//! them.
//!
//! Layer: control (onboarding). Pure text.

use crate::protocol::http::HttpResponse;

/// An HTML page of the mock; no other site may frame it (a framed sign-up page would let
/// that site make the buyer's click for it).
pub(super) fn html_page(page: String) -> HttpResponse {
    HttpResponse::new(200, "text/html; charset=utf-8", page)
        .with_header("X-Frame-Options", "DENY")
        .with_header("Content-Security-Policy", "frame-ancestors 'none'")
}

fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The page that asks the buyer to subscribe: a form that POSTs to the page's own URL
/// (an empty `action` keeps its query string, so the parameters go along).
pub(super) fn confirmation_page(product_code: &str, fulfillment_url: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Subscribe - {product}</title>\n</head>\n<body>\n  <h1>Subscribe to {product}</h1>\n  <p>AWS Marketplace (simulated by metering-mock). After subscribing you are sent to the seller's registration page, {url}.</p>\n  <form id=\"marketplace-subscribe\" method=\"POST\" action=\"\" enctype=\"application/x-www-form-urlencoded\">\n    <button type=\"submit\" id=\"subscribe\">Subscribe</button>\n  </form>\n</body>\n</html>\n",
        product = escape_html(product_code),
        url = escape_html(fulfillment_url),
    )
}

/// The page a buyer's browser gets after subscribing: a form that POSTs itself
/// (`application/x-www-form-urlencoded`) to the fulfillment URL.
pub(super) fn redirect_page(product_code: &str, url: &str, fields: &[(&str, String)]) -> String {
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape_html(name),
                escape_html(value)
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Set up your account - {product}</title>\n</head>\n<body>\n  <h1>Set up your account</h1>\n  <p>AWS Marketplace (simulated by metering-mock) is sending you to the seller's registration page for {product}.</p>\n  <form id=\"marketplace-registration\" method=\"POST\" action=\"{action}\" enctype=\"application/x-www-form-urlencoded\">\n{inputs}    <button type=\"submit\">Set up your account</button>\n  </form>\n  <script>document.getElementById('marketplace-registration').submit();</script>\n</body>\n</html>\n",
        product = escape_html(product_code),
        action = escape_html(url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_embeds() {
        let page = redirect_page(
            "p<1>",
            "http://x/?a=1&b=\"2\"",
            &[("x-amzn-marketplace-token", "a+b/c=".into())],
        );
        assert!(page.contains("action=\"http://x/?a=1&amp;b=&quot;2&quot;\""));
        assert!(page.contains("value=\"a+b/c=\""));
        assert!(page.contains("p&lt;1&gt;"));
        assert!(page.contains("method=\"POST\""));
    }

    #[test]
    fn the_confirmation_page_posts_to_itself_and_escapes() {
        let page = confirmation_page("p<1>", "http://x/?a=\"b\"");
        assert!(page.contains("action=\"\""));
        assert!(page.contains("p&lt;1&gt;"));
        assert!(page.contains("http://x/?a=&quot;b&quot;"));
        assert!(!page.contains("<script>"));
    }
}
