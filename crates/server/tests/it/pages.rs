//! What a person sees: `GET /`, the login form's focus and its messages for empty fields, error
//! pages that show what they received, and (in headless Chromium) pages that fit a phone.

use crate::{
    browser::{Browser, CB, CHALLENGE, EMAIL, PASSWORD, location},
    support::{TestApp, spawn_app},
};

fn code_params(spa: &str) -> Vec<(&str, &str)> {
    vec![
        ("client_id", spa),
        ("redirect_uri", CB),
        ("response_type", "code"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// The page's text with minijinja's HTML escapes of `/` and `'` undone, to look for URLs.
fn text(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The `id` of the input that has `autofocus`.
fn focused(html: &str) -> Option<&str> {
    let at = html.find(" autofocus")?;
    let tag = &html[html[..at].rfind("<input")?..];
    let id = &tag[tag.find("id=\"")? + 4..];
    Some(&id[..id.find('"')?])
}

#[tokio::test]
async fn the_root_names_the_tenant_and_its_discovery_document() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = text(&r.text().await.unwrap());
    let issuer = app.issuer();
    assert!(page.contains("default"), "{page}");
    assert!(
        page.contains(&format!("{issuer}.well-known/openid-configuration")),
        "{page}"
    );
    assert!(page.contains("docs/"), "{page}");
}

#[tokio::test]
async fn the_login_form_focuses_the_next_field_and_names_what_is_missing() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    // No hint: the email first.
    let (_, html) = b.to_login_page(&code_params(&spa)).await;
    assert_eq!(focused(&html), Some("username"));
    // With login_hint: the email is there, so the password.
    let mut hinted = code_params(&spa);
    hinted.push(("login_hint", EMAIL));
    let (_, html) = b.to_login_page(&hinted).await;
    assert_eq!(focused(&html), Some("password"));
    // After a wrong password: the password again.
    let r = b.post_login(&html, EMAIL, "wrong password").await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Wrong email or password."));
    assert_eq!(focused(&html), Some("password"));
    // Empty fields say what is missing, and are not failed sign-ins.
    let r = b.post_login(&html, "", "").await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("Enter your email address."), "{page}");
    assert_eq!(focused(&page), Some("username"));
    let r = b.post_login(&page, EMAIL, "").await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("Enter your password."), "{page}");
    assert!(!page.contains("Wrong email or password"));
    for _ in 0..12 {
        assert_eq!(b.post_login(&page, EMAIL, "").await.status(), 400);
    }
    let r = b.post_login(&page, EMAIL, PASSWORD).await;
    assert!(
        location(&r).starts_with(CB),
        "twelve empty submits block nothing"
    );
}

#[tokio::test]
async fn error_pages_show_what_they_received() {
    let app = spawn_app().await;
    let spa = app.spa(&["--logout-urls", "https://app.example.com/bye"]);
    let b = Browser::new(&app);
    // An unknown client id.
    let r = b.authorize(&code_params("no-such-app")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("no-such-app"));
    // A redirect_uri that is not a callback.
    let mut p = code_params(&spa);
    p[1] = ("redirect_uri", "https://evil.example/cb");
    let r = b.authorize(&p).await;
    let page = text(&r.text().await.unwrap());
    assert!(page.contains("https://evil.example/cb"), "{page}");
    // A returnTo that is not an allowed logout URL: a sign-out heading, and the URL.
    let r = b
        .get(&format!(
            "v2/logout?client_id={spa}&returnTo=https%3A%2F%2Fevil.example%2Fbye"
        ))
        .await;
    assert_eq!(r.status(), 400);
    let page = text(&r.text().await.unwrap());
    assert!(
        page.contains("This sign-out request is not valid"),
        "{page}"
    );
    assert!(!page.contains("sign-in request"), "{page}");
    assert!(page.contains("https://evil.example/bye"), "{page}");
    assert!(page.contains("--add-logout-url"), "{page}");
}

/// `[scrollWidth, innerWidth, the card's left, the card's right]` of `html` laid out by headless Chromium `width` pixels wide: the
/// page is saved to a file and shown in an iframe that wide (a window cannot be narrower than
/// 500 px), and the host page reads the frame's layout (same origin: both are files).
fn laid_out_width(chromium: &str, html: &str, width: u32, dir: &std::path::Path) -> [i64; 4] {
    let page = dir.join(format!("page-{width}.html"));
    std::fs::write(&page, html).unwrap();
    let host = dir.join(format!("host-{width}.html"));
    std::fs::write(
        &host,
        format!(
            "<!doctype html><html><head><title>-</title></head><body style=\"margin:0\">\
             <iframe id=\"f\" src=\"page-{width}.html\" style=\"width:{width}px;height:800px;border:0\"></iframe>\
             <script>window.addEventListener('load', function () {{ var d = document.getElementById('f').contentDocument; \
             var m = d.querySelector('main').getBoundingClientRect(); \
             document.title = 'width ' + d.documentElement.scrollWidth + ' ' + d.defaultView.innerWidth \
             + ' ' + Math.floor(m.left) + ' ' + Math.ceil(m.right); }});</script>\
             </body></html>"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            "--dump-dom",
        ])
        .arg(format!("file://{}", host.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {chromium}: {e}"));
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .filter(|t| t.starts_with("width "))
        .unwrap_or_else(|| {
            panic!(
                "no layout from Chromium: {dom} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let n: Vec<i64> = title
        .trim_start_matches("width ")
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    [n[0], n[1], n[2], n[3]]
}

#[tokio::test]
async fn the_login_page_fits_a_phone_in_chromium() {
    let Ok(chromium) = std::env::var("TESSERA_TEST_CHROMIUM") else {
        eprintln!("skipped: set TESSERA_TEST_CHROMIUM to a Chromium binary (bash .ci/run does)");
        return;
    };
    let app: TestApp = spawn_app().await;
    let spa = app.spa(&[]);
    let b = Browser::new(&app);
    let (_, html) = b.to_login_page(&code_params(&spa)).await;
    let error = b
        .get(&format!("v2/logout?client_id={spa}&returnTo=https%3A%2F%2Fa-rather-long-host-name.example%2Fsome%2Fvery%2Flong%2Fpath%2Fthat%2Fdoes%2Fnot%2Fbreak%2Feasily"))
        .await
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for width in [320, 390] {
        for (what, page) in [("login", &html), ("error", &error)] {
            let [scroll, inner, left, right] = laid_out_width(&chromium, page, width, dir.path());
            let width = i64::from(width);
            assert_eq!(inner, width, "{what}: the window is {width} wide");
            assert_eq!(
                scroll, width,
                "{what} at {width} px: no horizontal overflow"
            );
            // A centred card wider than the page overflows to the left too, which scrollWidth
            // does not count: the card itself must lie within the page.
            assert!(
                left >= 0 && right <= width,
                "{what} at {width} px: the card spans {left}..{right}"
            );
        }
    }
}
